"""The human sample: selection, Label Studio transport, parsing and agreement."""
