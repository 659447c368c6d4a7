"""CSV partner files (France Travail extractions, département exports, CNAF fichiers contact...)."""
