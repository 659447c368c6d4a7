"""Names shared by the DSN reader and writer: the block chain from envoi to individu."""

from __future__ import annotations

ENVOI = "S10.G00.00"
DECLARATION = "S20.G00.05"
ENTREPRISE = "S21.G00.06"
ETABLISSEMENT = "S21.G00.11"
INDIVIDU = "S21.G00.30"
FOOTER = "S90.G00.90"

CONTEXT_CHAIN = {
    ENVOI: "envoi",
    DECLARATION: "declaration",
    ENTREPRISE: "entreprise",
    ETABLISSEMENT: "etablissement",
}
"""Blocks given to every record of their subtree as ``SourceRecord.context[<name>]``."""

TYPE_REPLACES = {"03", "05"}
"""S20.G00.05.002 (type de la déclaration): 03 annule et remplace intégral, 05 annule et remplace sans
individu; the replaced declaration is named by S20.G00.05.006."""
TYPE_CANCELS = {"04"}
"""04 déclaration annule."""


def is_rubric_key(key: str) -> bool:
    """Rubric keys are the 3-digit rubric numbers; other keys are child block ids."""
    return len(key) == 3 and key.isdigit()
