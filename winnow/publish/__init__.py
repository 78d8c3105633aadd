"""Publishing: versioned, atomic releases with a manifest, a card and a compute report."""
