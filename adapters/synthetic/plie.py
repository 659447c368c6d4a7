"""PLIE participants export (docs/plie-export-format.md), CSV and JSON variants.

One CSV row per accompaniment period (parcours) of a participant; the JSON variant nests the periods of a
participant under ``parcours``. ``records`` counts participants.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from collections.abc import Iterator
from typing import Any, BinaryIO

from adapters.synthetic.identities import Identity, ascii_upper, identity, siret

CSV_COLUMNS = (
    "plie_siret", "id_participant", "nir", "sexe", "nom", "nom_naissance", "prenom", "date_naissance",
    "adresse", "code_postal", "commune", "code_insee_commune", "telephone", "courriel", "statut_rsa",
    "inscrit_france_travail", "identifiant_france_travail", "id_parcours", "date_entree_plie",
    "date_sortie_plie", "motif_sortie", "referent_nom", "referent_prenom", "referent_courriel",
    "structure_referente_siret", "structure_referente_nom",
)  # fmt: skip
MOTIFS_SORTIE = (
    "EMPLOI_CDI", "EMPLOI_CDD_6M", "EMPLOI_PUBLIC", "CREATION_ENTREPRISE", "FORMATION_QUALIFIANTE",
    "ALTERNANCE", "EMPLOI_MOINS_6M", "ABANDON", "DEMENAGEMENT", "SANTE", "REORIENTATION", "SANS_SOLUTION",
    "AUTRE",
)  # fmt: skip
STRUCTURES = ("CCAS de la Ville", "Association Tremplin", "Maison de l'emploi", "Régie de quartier Horizon")
REFERENTS = (("Lemoine", "Julie"), ("Perret", "Hervé"), ("Benaïssa", "Samira"), ("Guillot", "Loïc"))
DATE = "%d/%m/%Y"


def _parcours(
    rng: random.Random, structures: list[tuple[str, str]], participant: str
) -> list[dict[str, Any]]:
    count = 1 if rng.random() < 0.85 else 2
    start = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randint(0, 1800))
    out: list[dict[str, Any]] = []
    for index in range(count):
        closed = index < count - 1 or rng.random() < 0.5
        end = start + dt.timedelta(days=rng.randint(60, 700)) if closed else None
        siret_ref, name_ref = rng.choice(structures)
        family, given = rng.choice(REFERENTS)
        item: dict[str, Any] = {
            "id_parcours": f"{participant}-{index + 1}",
            "date_entree_plie": start.strftime(DATE),
            "date_sortie_plie": end.strftime(DATE) if end else "",
            "motif_sortie": rng.choice(MOTIFS_SORTIE) if end else "",
            "referent_nom": family,
            "referent_prenom": given,
            "referent_courriel": f"{given[0].lower()}.{ascii_upper(family).lower()}@plie.example.fr",
            "structure_referente_siret": siret_ref,
            "structure_referente_nom": name_ref,
        }
        if rng.random() < 0.05:  # edge case: referent not known yet
            for key in ("referent_nom", "referent_prenom", "referent_courriel"):
                item[key] = ""
        out.append(item)
        start = (end or start) + dt.timedelta(days=rng.randint(30, 200))
    return out


def _participant(rng: random.Random, number: int, plie_siret: str) -> dict[str, Any]:
    person: Identity = identity(rng)
    ft = rng.random() < 0.7
    return {
        "plie_siret": plie_siret,
        "id_participant": f"P{number:07d}",
        "nir": person.nir if rng.random() < 0.6 else "",
        "sexe": "H" if person.sex == 1 else "F",
        "nom": person.family,
        "nom_naissance": person.birth_name if person.birth_name != person.family else "",
        "prenom": person.given,
        "date_naissance": person.birth_date.strftime(DATE),
        "adresse": person.address_line,
        "code_postal": person.residence.postal_code,
        "commune": person.residence.name,
        "code_insee_commune": person.residence.insee,
        "telephone": person.phone,
        "courriel": person.email,
        "statut_rsa": "O" if rng.random() < 0.45 else "N",
        "inscrit_france_travail": "O" if ft else "N",
        "identifiant_france_travail": f"{rng.randint(1_000_000, 9_999_999)}{rng.choice('ABCDEFGHJK')}"
        if ft
        else "",
    }


def participants(records: int, seed: int, plie_siret: str | None) -> Iterator[dict[str, Any]]:
    """Participants (flat fields plus ``parcours``), one at a time."""
    rng = random.Random(seed)  # noqa: S311 (fake data, not security)
    plie = plie_siret or siret(rng)
    structures = [(siret(rng), name) for name in STRUCTURES]
    for number in range(1, records + 1):
        participant = _participant(rng, number, plie)
        participant["parcours"] = _parcours(rng, structures, participant["id_participant"])
        yield participant


def write_csv(records: int, stream: BinaryIO, seed: int, plie_siret: str | None = None) -> int:
    """``;``-separated UTF-8 CSV with a header, one row per parcours."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for participant in participants(records, seed, plie_siret):
        for parcours in participant["parcours"]:
            row = {**participant, **parcours}
            writer.writerow([row[column] for column in CSV_COLUMNS])
        count += 1
        if buffer.tell() > 1 << 16:
            stream.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    stream.write(buffer.getvalue().encode("utf-8"))
    return count


def _json_participant(participant: dict[str, Any]) -> dict[str, Any]:
    """Empty strings removed (absent fields are omitted in the JSON variant)."""
    out = {key: value for key, value in participant.items() if value != "" and key != "parcours"}
    out["parcours"] = [{k: v for k, v in p.items() if v != ""} for p in participant["parcours"]]
    return out


def write_json(records: int, stream: BinaryIO, seed: int, plie_siret: str | None = None) -> int:
    """``{"format": …, "participants": [...]}``, written participant by participant."""
    stream.write(b'{"format": "plie-participants", "version": "1.0", "participants": [\n')
    count = 0
    for participant in participants(records, seed, plie_siret):
        if count:
            stream.write(b",\n")
        stream.write(json.dumps(_json_participant(participant), ensure_ascii=False).encode("utf-8"))
        count += 1
    stream.write(b"\n]}\n")
    return count
