"""France Travail extraction for the départements (layout of ``i03300c.j.extract_spie_carnet…``).

``;``-separated UTF-8, header line, ``NULL`` for absent values, dates ``YYYY-MM-DD 00:00:00.0``.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import BinaryIO

from adapters.synthetic.identities import ascii_upper, identity

COLUMNS = (
    "identifiant_unique_de", "civilite", "nom", "prenom", "lieu_naissance", "code_lieu_naissance",
    "date_naissance", "adresse_ligne2", "adresse_ligne3", "adresse_ligne4", "adresse_ligne5",
    "adresse_ligne6", "departement", "dr", "rome_1", "appelation_rome_1", "rome_2", "appelation_rome_2",
    "mrech.axetravailprincipal", "mrech.axetravailsecondaire", "der_entretien_ppae", "der_entretien",
    "inscription", "code_motif_inscription", "motif_inscription", "categorie_inscription",
    "struct_principale", "referent_civilite", "referent_nom", "referent_prenom", "referent_mail",
    "code_safir", "modalite_accompagnement", "struct_suivi", "suivi_debut", "suivi_fin_prev",
    "dif_financiere", "dif_admin_jur", "dif_sante", "dif_logement", "dif_transport", "dif_inser_com",
    "dif_familiale", "brsa",
)  # fmt: skip
ROMES = (
    ("A1101", "Conducteur / Conductrice d'engins d'exploitation agricole"),
    ("K2204", "Agent / Agente de nettoyage en collectivité"),
    ("K1303", "Aide maternel / maternelle d'école"),
    ("N1103", "Préparateur / Préparatrice de commandes"),
    ("D1106", "Vendeur / Vendeuse en alimentation"),
    ("J1501", "Aide-soignant / Aide-soignante"),
    ("F1703", "Maçon / Maçonne"),
)
MOTIFS = (("14", "FIN DE CDD OU DE CONTRAT AIDE"), ("15", "FIN DE MISSION D'INTERIM"),
          ("19", "AUTRE MOTIF INSCRIPTION"), ("11", "LICENCIEMENT ECONOMIQUE"))  # fmt: skip
AXES = ("ADAPT MARCHE TRAVAIL", "ELABORAT. PROJET PRO.", "TECHNIQ. RECH. EMPL.", "RETOUR DIRECT EMPLOI")
MODALITES = ("SUIVI", "GUIDE", "RENFORCE", "GLOBAL")
NULL = "NULL"


def _ts(day: dt.date) -> str:
    return f"{day.isoformat()} 00:00:00.0"


def _row(rng: random.Random) -> list[str]:
    person = identity(rng)
    commune = person.residence
    rome1, rome2 = rng.sample(ROMES, 2)
    second = rng.random() < 0.6
    inscription = dt.date(2018, 1, 1) + dt.timedelta(days=rng.randint(0, 2000))
    motif = rng.choice(MOTIFS)
    followed = rng.random() < 0.7
    suivi = inscription + dt.timedelta(days=rng.randint(0, 200))
    referent_family, referent_given = ascii_upper(rng.choice(("Durand", "Lefèvre", "Morin"))), "Claire"
    birth_code = (
        person.birth_commune.insee
        if person.birth_commune
        else "99" + (person.birth_country or ("", "000"))[1]
    )
    values = {
        "identifiant_unique_de": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "civilite": "M." if person.sex == 1 else "MME",
        "nom": ascii_upper(person.family),
        "prenom": ascii_upper(person.given),
        "lieu_naissance": ascii_upper(person.birth_place_name),
        "code_lieu_naissance": birth_code,
        "date_naissance": _ts(person.birth_date),
        "adresse_ligne2": NULL,
        "adresse_ligne3": "APPARTEMENT " + str(rng.randint(1, 40)) if rng.random() < 0.3 else NULL,
        "adresse_ligne4": ascii_upper(person.address_line),
        "adresse_ligne5": NULL,
        "adresse_ligne6": f"{commune.postal_code} {ascii_upper(commune.name)}",
        "departement": commune.departement,
        "dr": f"{rng.randint(1, 99):03d}",
        "rome_1": rome1[0],
        "appelation_rome_1": rome1[1],
        "rome_2": rome2[0] if second else NULL,
        "appelation_rome_2": rome2[1] if second else NULL,
        "mrech.axetravailprincipal": rng.choice(AXES),
        "mrech.axetravailsecondaire": rng.choice(AXES) if rng.random() < 0.4 else NULL,
        "der_entretien_ppae": _ts(inscription + dt.timedelta(days=rng.randint(10, 400))),
        "der_entretien": _ts(inscription + dt.timedelta(days=rng.randint(10, 800))),
        "inscription": _ts(inscription),
        "code_motif_inscription": motif[0],
        "motif_inscription": motif[1],
        "categorie_inscription": str(rng.choice((1, 1, 1, 2, 3))),
        "struct_principale": ascii_upper(commune.name),
        "referent_civilite": "Mme",
        "referent_nom": referent_family,
        "referent_prenom": referent_given,
        "referent_mail": f"claire.{referent_family.lower()}@francetravail.example.fr",
        "code_safir": f"{rng.randint(10000, 99999)}",
        "modalite_accompagnement": rng.choice(MODALITES),
        "struct_suivi": ascii_upper(commune.name) if followed else NULL,
        "suivi_debut": _ts(suivi) if followed else NULL,
        "suivi_fin_prev": _ts(suivi + dt.timedelta(days=365)) if followed else NULL,
        "brsa": "O" if rng.random() < 0.5 else "N",
    }
    for column in COLUMNS:
        if column.startswith("dif_"):
            values[column] = "O" if rng.random() < 0.1 else NULL
    return [values[column].replace(";", ",") for column in COLUMNS]


def write_csv(records: int, stream: BinaryIO, seed: int) -> int:
    rng = random.Random(seed)  # noqa: S311 (fake data, not security)
    stream.write((";".join(COLUMNS) + "\n").encode("utf-8"))
    lines: list[str] = []
    for _ in range(records):
        lines.append(";".join(_row(rng)))
        if len(lines) >= 500:
            stream.write(("\n".join(lines) + "\n").encode("utf-8"))
            lines.clear()
    if lines:
        stream.write(("\n".join(lines) + "\n").encode("utf-8"))
    return records
