"""The closed list of national purposes (article R. 5312-38-1 of the Code du travail), from purposes.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ruamel.yaml import YAML

PURPOSES_FILE = Path(__file__).with_name("purposes.yaml")
LOCAL_PREFIX = "local:"


@dataclass(frozen=True)
class Purpose:
    id: str
    label: str
    number: int | None = None
    """Rank in article R. 5312-38-1; ``None`` for a ``local:`` purpose declared by a convention."""

    @property
    def is_local(self) -> bool:
        return self.id.startswith(LOCAL_PREFIX)


@cache
def national_purposes() -> dict[str, Purpose]:
    data = YAML(typ="safe").load(PURPOSES_FILE.read_text(encoding="utf-8"))
    return {
        item["id"]: Purpose(id=item["id"], label=" ".join(item["label"].split()), number=item["number"])
        for item in data["purposes"]
    }
