"""The quality model trained on human labels, and the estimates drawn from them."""
