"""A tiny PDF 1.4 writer for the sandbox's invoices: one A4 page of Helvetica text.

Enough for a PDF reader (and ``pdftoppm``) to open it and for an upload to look like an
invoice; no dependency. The cross-reference table holds each object's byte offset, which is
why the file is assembled as bytes and measured while it is written.
"""

from collections.abc import Sequence

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
LEFT_MARGIN, TOP = 56, 780
LINE_HEIGHT = 16


def _escape(text: str) -> bytes:
    # WinAnsiEncoding (cp1252) holds the German letters and the euro sign Helvetica can show.
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _content_stream(lines: Sequence[tuple[str, int]]) -> bytes:
    """Text operators: each line as (text, font size), top to bottom."""
    parts = [b"BT", f"{LEFT_MARGIN} {TOP} Td".encode()]
    previous_size = None
    for index, (text, size) in enumerate(lines):
        if size != previous_size:
            parts.append(f"/F1 {size} Tf".encode())
            previous_size = size
        if index:
            parts.append(f"0 -{LINE_HEIGHT} Td".encode())
        parts.append(b"(" + _escape(text) + b") Tj")
    parts.append(b"ET")
    return b"\n".join(parts)


def pdf_document(lines: Sequence[tuple[str, int]], *, title: str = "") -> bytes:
    """A one-page PDF showing ``lines``; ``title`` goes into the document information."""
    stream = _content_stream(lines)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        ).encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream",
        b"<< /Title (" + _escape(title) + b") /Producer (billbee-sevdesk sandbox) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_offset = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode()
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref_offset}\n%%EOF\n"
    ).encode()
    return bytes(out)
