"""Interoperability gateway for the Réseau pour l'emploi."""

__version__ = "0.1.0"
