"""Model stage: the quality model trained on human labels and quality estimates."""
