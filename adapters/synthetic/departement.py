"""Département beneficiaries file in the carnet-de-bord ``import_beneficiaires.csv`` template layout.

UTF-8 with a BOM, ``;``-separated, CRLF line ends, like the template offered to départements.
"""

from __future__ import annotations

import csv
import io
import random
from typing import BinaryIO

from adapters.synthetic.identities import identity

COLUMNS = (
    "Identifiant dans le SI*", "Prénom*", "Nom*", "Date de naissance*", "NIR", "Lieu de naissance",
    "Téléphone", "Email", "Adresse", "Adresse (complément)", "Code postal", "Ville", "Situation",
    "Numéro allocataire CAF/MSA", "Identifiant Pôle emploi", "Droits RSA", "Droits ARE", "Droits ASS",
    "Prime d'activité", "RQTH", "Zone de mobilité", "Emploi recherché (code ROME)", "Niveau de formation",
    "Structure", "Accompagnateurs",
)  # fmt: skip
SITUATIONS = ("recherche_emploi", "iae", "formation", "emploi", "sans_emploi", "")
DROITS_RSA = (
    "rsa_droit_ouvert_versable", "rsa_droit_ouvert_et_suspendu", "rsa_droit_ouvert_versement_suspendu",
    "rsa_demande_en_attente", "rsa_clos", "",
)  # fmt: skip
EMPLOIS = ("Pontier élingueur / Pontière élingueuse (N1104)", "Aide-soignant / Aide-soignante (J1501)",
           "Vendeur / Vendeuse en alimentation (D1106)", "")  # fmt: skip
NIVEAUX = ("NV1", "NV2", "NV3", "NV4", "NV5", "")
STRUCTURES = ("CD 26", "Maison départementale des solidarités", "")


def _row(rng: random.Random, number: int, residence_departement: str | None = None) -> list[str]:
    person = identity(rng, residence_departement=residence_departement)
    yes_no = ("Oui", "Non", "")
    complement = f'Bâtiment {rng.choice("ABC")}, "Résidence Les Érables"' if rng.random() < 0.15 else ""
    return [
        f"{number}",
        person.given,
        person.family,
        person.birth_date.isoformat(),
        person.nir if rng.random() < 0.7 else "",
        person.birth_place_name if rng.random() < 0.6 else "",
        person.phone,
        person.email,
        person.address_line,
        complement,
        person.residence.postal_code,
        person.residence.name,
        rng.choice(SITUATIONS),
        f"{rng.randint(1_000_000, 9_999_999)}" if rng.random() < 0.8 else "",
        f"{rng.randint(100_000, 999_999)}{rng.choice('ABCDL')}" if rng.random() < 0.5 else "",
        rng.choice(DROITS_RSA),
        rng.choice(yes_no),
        rng.choice(yes_no),
        rng.choice(yes_no),
        rng.choice(yes_no),
        str(rng.choice((10, 20, 30, 50))) if rng.random() < 0.5 else "",
        rng.choice(EMPLOIS),
        rng.choice(NIVEAUX),
        rng.choice(STRUCTURES),
        "referente@departement.example.fr" if rng.random() < 0.4 else "",
    ]


def write_csv(records: int, stream: BinaryIO, seed: int, residence_departement: str | None = None) -> int:
    rng = random.Random(seed)  # noqa: S311 (fake data, not security)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(COLUMNS)
    for number in range(1, records + 1):
        writer.writerow(_row(rng, number, residence_departement))
        if buffer.tell() > 1 << 16:
            stream.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    stream.write(buffer.getvalue().encode("utf-8"))
    return records
