"""DSN mensuelle (NEODeS, norme P24V01) with several établissements, hires and contract ends.

One envoi (S10) holds one déclaration (S20) per établissement, each with its entreprise (S21.G00.06),
établissement (S21.G00.11) and individus (S21.G00.30) with one contract each (S21.G00.40), a fin de contrat
(S21.G00.62) for some, and a pay line (S21.G00.50). Values are upper-case ASCII without quotes, as in the
norme's character set. ``records`` counts individus.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterator
from typing import BinaryIO

from adapters.synthetic.identities import ascii_upper, identity, siren

MONTH = dt.date(2025, 5, 1)
# (nature S21.G00.40.007, dispositif S21.G00.40.008, weight)
CONTRACTS = (("01", "99", 40), ("02", "99", 25), ("02", "71", 10), ("02", "41", 5), ("03", "99", 10),
             ("10", "99", 5), ("01", "21", 5))  # fmt: skip
MOTIFS_FIN = {"01": ("059", "043", "020", "034"), "02": ("031", "037", "036"), "03": ("032",),
              "10": ("031",)}  # fmt: skip
EMPLOIS = (("Agent d'entretien", "684A"), ("Developpeur", "388A"), ("Aide a domicile", "563B"),
           ("Preparateur de commandes", "676A"), ("Assistante administrative", "543A"))  # fmt: skip
APE = ("8810A", "4711D", "8121Z", "6201Z", "5610A")


def _d(day: dt.date) -> str:
    return day.strftime("%d%m%Y")


def _v(text: str) -> str:
    """The DSN value form: upper-case ASCII, no quote (apostrophes become spaces)."""
    return ascii_upper(text).replace("'", " ")


def _individu(rng: random.Random, number: int) -> Iterator[tuple[str, str]]:
    person = identity(rng, today=dt.date(2025, 5, 1))
    yield from (
        ("S21.G00.30.001", person.nir13),
        ("S21.G00.30.002", _v(person.birth_name)),
    )
    if person.family != person.birth_name:
        yield "S21.G00.30.003", _v(person.family)
    yield from (
        ("S21.G00.30.004", _v(person.given)),
        ("S21.G00.30.005", f"{person.sex:02d}"),
        ("S21.G00.30.006", _d(person.birth_date)),
        ("S21.G00.30.007", _v(person.birth_place_name)[:30]),
        ("S21.G00.30.008", _v(person.address_line)),
        ("S21.G00.30.009", person.residence.postal_code),
        ("S21.G00.30.010", _locality(person.residence.name)),
    )
    yield "S21.G00.30.019", f"M{number:08d}"
    nature, dispositif = rng.choices([c[:2] for c in CONTRACTS], [c[2] for c in CONTRACTS])[0]
    hired = rng.random() < 0.4
    start = (
        MONTH + dt.timedelta(days=rng.randint(0, 27))
        if hired
        else MONTH - dt.timedelta(days=rng.randint(30, 3000))
    )
    planned = start + dt.timedelta(days=rng.randint(20, 540)) if nature in ("02", "03", "10") else None
    emploi, pcs = rng.choice(EMPLOIS)
    yield from (
        ("S21.G00.40.001", _d(start)),
        ("S21.G00.40.002", "04"),
        ("S21.G00.40.003", "04"),
        ("S21.G00.40.004", pcs),
        ("S21.G00.40.006", _v(emploi)),
        ("S21.G00.40.007", nature),
        ("S21.G00.40.008", dispositif),
        ("S21.G00.40.009", f"C{number:08d}"),
    )
    if planned is not None and rng.random() < 0.9:  # edge case: CDD à terme imprécis
        yield "S21.G00.40.010", _d(planned)
    yield from (
        ("S21.G00.40.011", "10"),
        ("S21.G00.40.012", "151.67"),
        ("S21.G00.40.013", rng.choice(("151.67", "121.33", "104.00"))),
        ("S21.G00.40.017", "1486"),
    )
    if rng.random() < 0.3:
        end = max(start, MONTH) + dt.timedelta(days=rng.randint(0, 27))
        yield "S21.G00.62.001", _d(min(end, dt.date(2025, 5, 31)))
        yield "S21.G00.62.002", rng.choice(MOTIFS_FIN.get(nature, ("099",)))
    yield "S21.G00.50.001", _d(dt.date(2025, 5, 31))
    yield "S21.G00.50.002", f"{rng.randint(900, 4000)}.{rng.randint(0, 99):02d}"


def _locality(text: str) -> str:
    """Localité rubrics allow letters, digits and spaces only (``SAINT-DENIS`` -> ``SAINT DENIS``)."""
    return " ".join(re.sub(r"[^A-Za-z0-9]", " ", ascii_upper(text)).split())[:50]


def _line(code: str, value: str) -> bytes:
    return f"{code},'{value}'\n".encode("ascii")


def write_dsn(records: int, stream: BinaryIO, seed: int, etablissements: int = 3,
              annule_et_remplace: bool = False) -> int:  # fmt: skip
    """Write one envoi; ``annule_et_remplace`` makes each déclaration "annule et remplace intégral" (03)."""
    rng = random.Random(seed)  # noqa: S311 (fake data, not security)
    entreprise = siren(rng)
    lines = 0

    def emit(code: str, value: str) -> None:
        nonlocal lines
        stream.write(_line(code, value))
        lines += 1

    for code, value in (("S10.G00.00.001", "GATEWAY-SYNTH"), ("S10.G00.00.002", "RESEAU EMPLOI"),
                        ("S10.G00.00.003", "1.0"), ("S10.G00.00.006", "P24V01"), ("S10.G00.00.008", "01"),
                        ("S10.G00.01.001", entreprise), ("S10.G00.01.002", "00011"),
                        ("S10.G00.01.003", "CABINET SYNTHETIQUE")):  # fmt: skip
        emit(code, value)
    count = max(1, min(etablissements, records or 1))
    per = [records // count + (1 if i < records % count else 0) for i in range(count)]
    number = 0
    for index, size in enumerate(per):
        nic = f"{(index + 1) * 11:05d}"
        commune = identity(rng).residence
        kind = "03" if annule_et_remplace else "01"
        for code, value in (("S20.G00.05.001", "01"), ("S20.G00.05.002", kind), ("S20.G00.05.003", "11"),
                            ("S20.G00.05.004", f"{index + 1}"), ("S20.G00.05.005", _d(MONTH))):  # fmt: skip
            emit(code, value)
        if annule_et_remplace:
            emit("S20.G00.05.006", f"{_d(MONTH)}{rng.randint(1, 10**6)}")
        emit("S20.G00.05.010", "01")
        for code, value in (("S21.G00.06.001", entreprise), ("S21.G00.06.002", "00011"),
                            ("S21.G00.06.003", rng.choice(APE)), ("S21.G00.06.004", "1 RUE DE LA REPUBLIQUE"),
                            ("S21.G00.06.005", "75011"), ("S21.G00.06.006", "PARIS"),
                            ("S21.G00.11.001", nic), ("S21.G00.11.002", rng.choice(APE)),
                            ("S21.G00.11.003", "2 PLACE DE LA GARE"), ("S21.G00.11.004", commune.postal_code),
                            ("S21.G00.11.005", _locality(commune.name))):  # fmt: skip
            emit(code, value)
        for _ in range(size):
            number += 1
            for code, value in _individu(rng, number):
                emit(code, value)
    emit("S90.G00.90.001", f"{lines + 2}")
    emit("S90.G00.90.002", f"{count}")
    return records
