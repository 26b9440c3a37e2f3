from pathlib import Path

import polib
import pytest

CATALOGUE = Path(__file__).resolve().parents[1] / "locale" / "de" / "LC_MESSAGES"


@pytest.mark.django_db
def test_pages_speak_german_by_default(client):
    page = client.get("/accounts/login/").content.decode()

    assert 'lang="de"' in page
    assert "Anmelden" in page
    assert "Log in" not in page


@pytest.mark.django_db
def test_pages_speak_english_when_the_browser_asks_for_it(client):
    page = client.get("/accounts/login/", headers={"accept-language": "en"}).content.decode()

    assert 'lang="en"' in page
    assert "Log in" in page


@pytest.mark.django_db
def test_the_language_switch_changes_the_language(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})

    assert "Log in" in client.get("/accounts/login/").content.decode()


def test_german_catalogue_is_complete_and_compiled():
    source = polib.pofile(str(CATALOGUE / "django.po"))
    compiled = polib.mofile(str(CATALOGUE / "django.mo"))

    assert source.untranslated_entries() == []
    assert source.fuzzy_entries() == []
    assert {e.msgid: e.msgstr for e in source.translated_entries() if not e.msgid_plural} == {
        e.msgid: e.msgstr for e in compiled if e.msgid and not e.msgid_plural
    }
