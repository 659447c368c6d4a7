"""XML partner files (CNAF/MSA flux bénéficiaires RSA, WebRSA/ALI exchanges, Pôle emploi → CG files...)."""
