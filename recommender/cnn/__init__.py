"""Convolutional networks on mel spectrograms: pure PyTorch and numpy, no Django.

`frontend` (numpy and librosa only) turns audio into the network's input; `tagger` holds the
musicnn MagnaTagATune tagger ported to PyTorch. Nothing is imported here, so the front end
loads without torch (the weight conversion script runs in an environment that has none).
"""
