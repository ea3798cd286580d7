"""Pure bot classification: request facts + policy -> verdict and reasons."""
