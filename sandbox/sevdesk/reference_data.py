"""sevDesk's fixed lists (countries, communication way keys, revenue accounts).

Written by a data migration, and written again by `reference_data_ensure` whenever a sandbox
account is created: tests that run with a flushed database (``live_server``,
``transaction=True``) lose migration data, and the sandbox must still answer like sevDesk.
The functions take the model classes as arguments so the migration can pass its historical
models.
"""

TAX_RULE_NAMES = {
    1: "Umsatzsteuerpflichtige Umsätze",
    2: "Ausfuhren",
    3: "Innergemeinschaftliche Lieferungen",
    4: "Steuerfreie Umsätze §4 UStG",
    5: "Reverse Charge gem. §13b UStG",
    11: "Steuer nicht erhoben nach §19 UStG",
    17: "Nicht im Inland steuerbare Leistung",
}

# Rates as `/ReceiptGuidance` spells them.
RATE_NAMES = {0: "ZERO", 7: "SEVEN", 19: "NINETEEN"}

# (id, ISO code, German name, English name, locale, priority)
COUNTRIES = [
    (1, "de", "Deutschland", "Germany", "de_DE", 10),
    (2, "at", "Österreich", "Austria", "de_AT", 20),
    (3, "ch", "Schweiz", "Switzerland", "de_CH", 30),
    (4, "fr", "Frankreich", "France", "fr_FR", 100),
    (5, "nl", "Niederlande", "Netherlands", "nl_NL", 100),
    (6, "it", "Italien", "Italy", "it_IT", 100),
    (7, "es", "Spanien", "Spain", "es_ES", 100),
    (8, "pl", "Polen", "Poland", "pl_PL", 100),
    (9, "be", "Belgien", "Belgium", "nl_BE", 100),
    (10, "us", "Vereinigte Staaten von Amerika", "United States", "en_US", 100),
    (11, "gb", "Vereinigtes Königreich", "United Kingdom", "en_GB", 100),
]

# (id, name, translation code); the names are sevDesk's own, German ones.
COMMUNICATION_WAY_KEYS = [
    (1, "Privat", "COMM_WAY_KEY_PRIVAT"),
    (2, "Arbeit", "COMM_WAY_KEY_WORK"),
    (3, "Fax", "COMM_WAY_KEY_FAX"),
    (4, "Mobil", "COMM_WAY_KEY_MOBILE"),
    (5, " ", "COMM_WAY_KEY_EMPTY"),
    (6, "Autobox", "COMM_WAY_KEY_AUTOBOX"),
    (7, "Newsletter", "COMM_WAY_KEY_NEWSLETTER"),
    (8, "Rechnungsadresse", "COMM_WAY_KEY_INVOICING"),
]

REGULAR = "regular"
SMALL_BUSINESS = "small_business"

# SKR04 revenue accounts: (AccountDatev id, AccountingType id for 1.0, number, name,
# description, regime, allowed tax rules with their rates)
REVENUE_ACCOUNTS = [
    (
        3612440, 26, "4400", "Erlöse 19 % USt",
        "Umsatzerlöse aus Lieferungen und Leistungen mit 19 % Umsatzsteuer",
        REGULAR, [{"id": 1, "rates": [19]}],
    ),
    (
        3612430, 27, "4300", "Erlöse 7 % USt",
        "Umsatzerlöse aus Lieferungen und Leistungen mit 7 % Umsatzsteuer",
        REGULAR, [{"id": 1, "rates": [7]}],
    ),
    (
        3612412, 28, "4125", "Steuerfreie innergemeinschaftliche Lieferungen §4 Nr. 1b UStG",
        "Lieferungen an Unternehmer in einem anderen EU-Land mit gültiger USt-IdNr.",
        REGULAR, [{"id": 3, "rates": [0]}],
    ),
    (
        3612411, 29, "4120", "Steuerfreie Umsätze §4 Nr. 1a UStG (Ausfuhr Drittland)",
        "Ausfuhrlieferungen in Länder außerhalb der EU",
        REGULAR, [{"id": 2, "rates": [0]}],
    ),
    (
        3612432, 30, "4320", "Erlöse aus im anderen EU-Land steuerpflichtigen Lieferungen",
        "Fernverkäufe an Privatpersonen in anderen EU-Ländern (OSS)",
        REGULAR, [{"id": 17, "rates": [0]}],
    ),
    (
        3612433, 31, "4338",
        "Erlöse aus im anderen EU-Land steuerpflichtigen sonstigen Leistungen (§13b UStG)",
        "Leistungen, für die der Leistungsempfänger die Umsatzsteuer schuldet",
        REGULAR, [{"id": 5, "rates": [0]}],
    ),
    (
        3612420, 32, "4200", "Erlöse",
        "Umsatzerlöse, allgemein",
        REGULAR, [{"id": 1, "rates": [0, 7, 19]}, {"id": 4, "rates": [0]}],
    ),
    (
        3612418, 33, "4185", "Erlöse als Kleinunternehmer i.S.d. §19 Abs. 1 UStG",
        "Umsätze, für die nach §19 UStG keine Umsatzsteuer erhoben wird",
        SMALL_BUSINESS, [{"id": 11, "rates": [0]}],
    ),
]  # fmt: skip


def reference_data_ensure(*, country_model, key_model, revenue_model) -> None:
    """Create the rows that are missing; existing ones are left as they are."""
    for pk, code, name, name_en, locale, priority in COUNTRIES:
        country_model.objects.get_or_create(
            id=pk,
            defaults={
                "code": code,
                "name": name,
                "name_en": name_en,
                "locale": locale,
                "priority": priority,
            },
        )
    for pk, name, translation_code in COMMUNICATION_WAY_KEYS:
        key_model.objects.get_or_create(
            id=pk, defaults={"name": name, "translation_code": translation_code}
        )
    for datev_id, type_id, number, name, description, regime, rules in REVENUE_ACCOUNTS:
        revenue_model.objects.get_or_create(
            account_datev_id=datev_id,
            defaults={
                "accounting_type_id": type_id,
                "number": number,
                "name": name,
                "description": description,
                "regime": regime,
                "allowed_tax_rules": rules,
            },
        )
