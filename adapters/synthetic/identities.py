"""Fake French identities for the synthetic generators: names with accents, real communes, valid NIRs.

Nothing here designates a real person: names and first names are drawn independently from lists of
common names, the NIR order number is random, and the key is computed with :mod:`gateway.model.nir` so that
every NIR passes the canonical model's checks. Some persons are born in Corsica (2A/2B) or abroad (99).
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass

from gateway.model.nir import complete_nir

FAMILY_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Le Gall",
    "N'Diaye", "Benali", "Traoré", "Nguyen", "Da Silva", "Rossi", "Ferrandi", "Santoni", "Colonna", "Évrard",
    "Bénard", "Lemaître", "Château", "Hervé", "Kerouédan", "Boyer", "Gauthier", "Perrin", "Chevalier",
    "Muller", "Faure", "Rousseau", "Blanc", "Guérin", "Boucher", "Saint-Ange", "Diallo", "Haddad",
)  # fmt: skip
MALE_GIVEN = (
    "Jean", "Pierre", "Lucas", "Hugo", "Léo", "Théo", "Mathéo", "Noé", "Jérôme", "Stéphane", "Gaël",
    "Mohamed", "Karim", "Youssef", "Mamadou", "José", "Raphaël", "Benoît", "François", "Jean-Baptiste",
    "Loïc", "Cédric", "Anthony", "Dominique", "Ange", "Paul", "Nicolas", "Sébastien", "Éric", "Kévin",
)  # fmt: skip
FEMALE_GIVEN = (
    "Marie", "Camille", "Léa", "Chloé", "Inès", "Manon", "Zoé", "Anaïs", "Hélène", "Céline", "Sandrine",
    "Fatima", "Aïcha", "Nadia", "Mireille", "Françoise", "Maëlle", "Océane", "Amélie", "Noémie",
    "Dominique", "Marie-Thérèse", "Élodie", "Sophie", "Claire", "Laetitia", "Agnès", "Bérénice",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Commune:
    name: str
    insee: str
    postal_code: str

    @property
    def departement(self) -> str:
        """Département code (``2A``/``2B`` in Corsica, three digits overseas)."""
        return self.insee[:3] if self.insee.startswith("97") else self.insee[:2]


COMMUNES = (
    Commune("Paris", "75111", "75011"),
    Commune("Lyon", "69383", "69003"),
    Commune("Marseille", "13201", "13001"),
    Commune("Lille", "59350", "59000"),
    Commune("Rennes", "35238", "35000"),
    Commune("Nantes", "44109", "44000"),
    Commune("Toulouse", "31555", "31000"),
    Commune("Bordeaux", "33063", "33000"),
    Commune("Strasbourg", "67482", "67000"),
    Commune("Montpellier", "34172", "34000"),
    Commune("Nice", "06088", "06000"),
    Commune("Saint-Étienne", "42218", "42000"),
    Commune("Le Havre", "76351", "76600"),
    Commune("Reims", "51454", "51100"),
    Commune("Besançon", "25056", "25000"),
    Commune("Orléans", "45234", "45000"),
    Commune("Évry-Courcouronnes", "91228", "91000"),
    Commune("Saint-Denis", "93066", "93200"),
    Commune("Châlons-en-Champagne", "51108", "51000"),
    Commune("Rethel", "08362", "08300"),
    Commune("Charleville-Mézières", "08105", "08000"),
    Commune("Sedan", "08409", "08200"),
    Commune("Valence", "26362", "26000"),
    Commune("Romans-sur-Isère", "26281", "26100"),
    Commune("Montélimar", "26198", "26200"),
    Commune("Die", "26113", "26150"),
    Commune("Roubaix", "59512", "59100"),
    Commune("Tourcoing", "59599", "59200"),
    Commune("Épinal", "88160", "88000"),
    Commune("Alençon", "61001", "61000"),
    Commune("Mâcon", "71270", "71000"),
    Commune("Ajaccio", "2A004", "20000"),
    Commune("Porto-Vecchio", "2A247", "20137"),
    Commune("Bastia", "2B033", "20200"),
    Commune("Corte", "2B096", "20250"),
    Commune("Saint-Denis (La Réunion)", "97411", "97400"),
)
CORSICA = tuple(c for c in COMMUNES if c.departement in ("2A", "2B"))
COUNTRIES = (
    ("Maroc", "350"), ("Algérie", "352"), ("Tunisie", "351"), ("Portugal", "139"), ("Espagne", "134"),
    ("Italie", "127"), ("Sénégal", "341"), ("Mali", "335"), ("Turquie", "208"), ("Roumanie", "114"),
)  # fmt: skip
STREET_TYPES = ("rue", "avenue", "boulevard", "place", "chemin", "impasse", "allée", "quai")
STREET_NAMES = (
    "de la République", "Victor Hugo", "Jean Jaurès", "des Écoles", "du Général de Gaulle", "Pasteur",
    "de l'Église", "des Lilas", "Émile Zola", "du Moulin", "Saint-Exupéry", "des Côtes", "de la Gare",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Identity:
    """One fake person. ``birth_commune`` is None when born abroad (then ``birth_country`` is set)."""

    sex: int
    """1 male, 2 female (the NIR's first digit)."""
    family: str
    given: str
    birth_name: str
    birth_date: dt.date
    birth_commune: Commune | None
    birth_country: tuple[str, str] | None
    nir13: str
    residence: Commune
    street_number: str
    street: str
    phone: str
    email: str

    @property
    def nir(self) -> str:
        """The 15-character NIR (with its key)."""
        return complete_nir(self.nir13)

    @property
    def birth_place_name(self) -> str:
        if self.birth_commune is not None:
            return self.birth_commune.name
        assert self.birth_country is not None
        return self.birth_country[0]

    @property
    def address_line(self) -> str:
        return f"{self.street_number} {self.street}"


def ascii_upper(text: str) -> str:
    """``"Lefèvre"`` -> ``"LEFEVRE"``: the form many partner files use (CAF, DSN)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def _birth(rng: random.Random, born: dt.date) -> tuple[Commune | None, tuple[str, str] | None, str]:
    """(commune, country, 5-character place code of the NIR)."""
    roll = rng.random()
    if roll < 0.12:
        country = rng.choice(COUNTRIES)
        return None, country, "99" + country[1]
    if roll < 0.20 and born.year >= 1976:  # 2A/2B exist in NIRs of persons born from 1976
        commune = rng.choice(CORSICA)
    else:
        commune = rng.choice([c for c in COMMUNES if c.departement not in ("2A", "2B")])
    return commune, None, commune.insee


def identity(
    rng: random.Random, *, today: dt.date = dt.date(2025, 1, 1), residence_departement: str | None = None
) -> Identity:
    """Draw one fake identity (aged 16 to 66 at ``today``), living in ``residence_departement`` if given."""
    sex = rng.choice((1, 2))
    given = rng.choice(MALE_GIVEN if sex == 1 else FEMALE_GIVEN)
    family = rng.choice(FAMILY_NAMES)
    birth_name = rng.choice(FAMILY_NAMES) if sex == 2 and rng.random() < 0.3 else family
    born = today - dt.timedelta(days=rng.randint(16 * 365 + 5, 66 * 365))
    commune, country, place = _birth(rng, born)
    nir13 = f"{sex}{born.year % 100:02d}{born.month:02d}{place}{rng.randint(1, 999):03d}"
    homes = [c for c in COMMUNES if c.departement == residence_departement] or list(COMMUNES)
    residence = rng.choice(homes)
    email = ""
    if rng.random() < 0.8:
        local = ascii_upper(f"{given}.{family}").lower().replace(" ", "-").replace("'", "")
        email = f"{local}{rng.randint(1, 99)}@example.org"
    phone = f"0{rng.choice('67')}{rng.randint(0, 99_999_999):08d}" if rng.random() < 0.85 else ""
    return Identity(
        sex=sex,
        family=family,
        given=given,
        birth_name=birth_name,
        birth_date=born,
        birth_commune=commune,
        birth_country=country,
        nir13=nir13,
        residence=residence,
        street_number=str(rng.randint(1, 120)),
        street=f"{rng.choice(STREET_TYPES)} {rng.choice(STREET_NAMES)}",
        phone=phone,
        email=email,
    )


def siret(rng: random.Random, siren: str | None = None) -> str:
    """A SIRET with a valid Luhn key (SIREN with a valid key too when drawn here)."""
    base = siren or _luhn_complete(f"{rng.randint(10_000_000, 99_999_999):08d}")
    return _luhn_complete(base + f"{rng.randint(1, 9999):04d}")


def siren(rng: random.Random) -> str:
    return _luhn_complete(f"{rng.randint(10_000_000, 99_999_999):08d}")


def _luhn_complete(body: str) -> str:
    for digit in "0123456789":
        if _luhn_ok(body + digit):
            return body + digit
    raise AssertionError("unreachable: one Luhn digit always fits")


def _luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0
