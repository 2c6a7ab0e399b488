"""The optional learned concern classifier: a timm backbone fine-tuned on a labelled folder.

Used only when `SKINSAGE_VISION_CLASSIFIER_CHECKPOINT` points at a checkpoint written by
`skinsage vision train`. torch and timm are imported inside these modules only.
"""
