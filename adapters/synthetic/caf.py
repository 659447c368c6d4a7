"""CAF/MSA "flux bénéficiaires RSA" (vrsb0801) XML: one ``InfosFoyerRSA`` per record (foyer).

The element order follows the CNAF XSD (``vrsb0801.xsd``); optional blocks (DossierPoleEmploi, Activite,
SuspensionDroit, FinDroit, a second Personne) appear only for some foyers. Names are upper-case without
accents and NIRs have 13 characters, as in the CAF files.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import BinaryIO
from xml.sax.saxutils import escape

from adapters.synthetic.identities import Identity, ascii_upper, identity

ENCODING = "windows-1252"
SITFAM = ("CEL", "MAR", "VIM", "DIV", "SEF", "VEU", "PAC", "ISO")
MOTISUS = ("DA", "DB", "DC", "GA", "GE")
MOTICLO = ("PCG", "RFD", "RAU", "ECH", "MUT")


def _e(tag: str, value: object) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _personne(person: Identity, role: str, rng: random.Random, head: bool) -> str:
    ident = person.birth_commune.name if person.birth_commune else person.birth_place_name
    parts = [
        "<Personne><Identification>",
        _e("QUAL", "MR" if person.sex == 1 else "MME"),
        _e("NOM", ascii_upper(person.family)[:28]),
        _e("NOMNAI", ascii_upper(person.birth_name)[:28]),
        _e("PRENOM", ascii_upper(person.given)[:32]),
        _e("NOMCOMNAI", ascii_upper(ident)[:26]),
        _e("DTNAI", person.birth_date.isoformat()),
        _e("TYPEDTNAI", "N"),
    ]
    if rng.random() < 0.95:  # edge case: NIR not yet certified
        parts += [_e("NIR", person.nir13), _e("TOPVALIEC", "1")]
    parts += [
        _e("SEXE", person.sex),
        "</Identification><DossierCAF>",
        _e("TOPRESPDOS", "1" if head else "0"),
        _e("DDRATDOS", "2015-01-01"),
        "</DossierCAF>",
        f"<Prestations>{_e('NATPREST', 'PFA')}{_e('ROLEPERS', role)}{_e('TOPCHAPERS', '0')}</Prestations>",
        f"<Prestations>{_e('NATPREST', 'RSA')}{_e('ROLEPERS', role)}{_e('TOPCHAPERS', '1')}</Prestations>",
    ]
    if rng.random() < 0.5:
        parts.append(f"<DossierPoleEmploi>{_e('IDASSEDIC', f'{rng.randint(1000000, 9999999)}X')}"
                     "</DossierPoleEmploi>")  # fmt: skip
    parts.append(
        "<MontantCalculDroitRSAPersonne>"
        f"{_e('TOPPERSDRODEVORSA', '1' if rng.random() < 0.8 else '0')}</MontantCalculDroitRSAPersonne>"
    )
    if rng.random() < 0.3:
        parts.append(f"<Activite>{_e('REG', 'GE')}{_e('ACT', 'CHO')}{_e('DDACT', '2024-01-15')}</Activite>")
    parts.append("</Personne>")
    return "".join(parts)


def _situation(rng: random.Random, reference: dt.date) -> str:
    etat = rng.choice("2222233456")
    out = f"<SituationDossierRSA><EtatDossierRSA>{_e('ETATDOSRSA', etat)}</EtatDossierRSA>"
    if etat == "3":
        since = (reference - dt.timedelta(days=40)).isoformat()
        out += (
            f"<SuspensionDroit>{_e('MOTISUSDRORSA', rng.choice(MOTISUS))}{_e('DDSUSDRORSA', since)}"
            "</SuspensionDroit>"
        )
    if etat in "56":
        closed = (reference - dt.timedelta(days=20)).isoformat()
        out += f"<FinDroit>{_e('MOTICLORSA', rng.choice(MOTICLO))}{_e('DTCLORSA', closed)}</FinDroit>"
    return out + "</SituationDossierRSA>"


def _foyer(
    rng: random.Random, number: int, reference: dt.date, departement: str, residence: str | None = None
) -> str:
    head = identity(rng, residence_departement=residence)
    personnes = [_personne(head, "DEM", rng, True)]
    if rng.random() < 0.35:
        personnes.append(_personne(identity(rng, residence_departement=residence), "CJT", rng, False))
    commune = head.residence
    return "".join(
        [
            "<InfosFoyerRSA><IdentificationRSA><Organisme>",
            _e("FONORG", "CAF"),
            _e("NUMORG", f"{rng.randint(1, 999):03d}"),
            _e("MATRICULE", f"{rng.randint(1, 9)}{number % 10**6:06d}{rng.randint(0, 99_999_999):08d}"),
            "</Organisme><Partenaire>",
            _e("TYPEPARTE", "CG"),
            _e("IDEPARTE", f"{departement:0>3}"[:3]),
            "</Partenaire><DemandeRSA>",
            _e("DTDEMRSA", (reference - dt.timedelta(days=rng.randint(30, 2000))).isoformat()),
            _e("NUMDEMRSA", f"{rng.randint(0, 99_999_999_999):011d}"),
            "</DemandeRSA></IdentificationRSA>",
            *personnes,
            "<DonneesAdministratives><SituationFamille>",
            _e("SITFAM", rng.choice(SITFAM)),
            _e("DDSITFAM", "2010-06-01"),
            "</SituationFamille><Adresse><TroncCommunAdresse>",
            _e("RGADR", "01"), _e("DTEMM", "2021-05-26"), _e("PAYS", "FRA"), _e("TYPEADR", "D"),
            _e("ETATADR", "CO"),
            "</TroncCommunAdresse><AdresseDetailleeFrance><COMPLIDEADR /><COMPLADR />",
            _e("NUMVOIE", head.street_number),
            _e("LIBTYPEVOIE", ascii_upper(head.street.split(" ", 1)[0])),
            _e("NOMVOIE", ascii_upper(head.street.split(" ", 1)[1])[:32]),
            "<LIEUDIST />",
            _e("NUMCOM", commune.insee),
            _e("CODEPOS", commune.postal_code),
            _e("NOMCOM", ascii_upper(commune.name)[:32]),
            "</AdresseDetailleeFrance></Adresse></DonneesAdministratives><PrestationRSA>",
            _situation(rng, reference),
            "<DetailDroitRSA><TroncCommunDroitRSA>",
            _e("TOPSANSDOMFIXE", "0"),
            _e("ORIDEMRSA", "DEM"),
            "</TroncCommunDroitRSA></DetailDroitRSA></PrestationRSA></InfosFoyerRSA>\n",
        ]
    )  # fmt: skip


def write_xml(
    records: int,
    stream: BinaryIO,
    seed: int,
    departement: str = "052",
    residence_departement: str | None = None,
) -> int:
    rng = random.Random(seed)  # noqa: S311 (fake data, not security)
    reference = dt.date(2025, 2, 28)
    header = (
        f'<?xml version="1.0" encoding="{ENCODING}"?>\n<Racine><IdentificationFlux>'
        f"{_e('APPLIEME', 'CRI')}{_e('NUMVERSIONAPPLIEME', '6200')}{_e('TYPEFLUX', 'M')}{_e('NATFLUX', 'D')}"
        f"{_e('DTCREAFLUX', '2025-03-05')}{_e('HEUCREAFLUX', '01:18:36.0000')}"
        f"{_e('DTREF', reference.isoformat())}</IdentificationFlux>\n"
    )
    stream.write(header.encode(ENCODING))
    for number in range(1, records + 1):
        stream.write(
            _foyer(rng, number, reference, departement, residence_departement).encode(
                ENCODING, errors="replace"
            )
        )
    stream.write(
        f"<TransmissionFlux>{_e('NBTOTDOSRSATRANSM', f'{records:08d}')}"
        f"{_e('NBTOTDOSRSATRANSMANO', '00000000')}</TransmissionFlux></Racine>\n".encode(ENCODING)
    )
    return records
