"""The eval harness: labelled cases, metrics against human labels, recorded model outputs."""
