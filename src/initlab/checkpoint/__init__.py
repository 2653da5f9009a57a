"""Checkpoints: safetensors files that are safe to load and never half-written.

Floor 4; the only package that imports safetensors (its NumPy API, to write). One module a
job: `file` (the safetensors file: atomic writes, the header parsed once and bounded, the
checksums), `rebuild` (a model and optimizer from the metadata, checked first), `save_load`
(`save`, `load`, `load_weights`), `folder` (a run's folder of step checkpoints).

A checkpoint is one `.safetensors` file:

* tensors: the model's state dict under its bare names ("0.weight", "3.running_mean", ...), so
  `safetensors.torch.load_file` + `load_state_dict` works on the equivalent torch.nn.Sequential;
  the optimizer's buffers under "optim/<param>.<buffer>" ("optim/0.weight.momentum_buffer");
* metadata (str -> str, values JSON): "format", "format_version", "initlab_version",
  "model_config", "init" (each layer's initializer names), "layer_rngs" (the bit-generator
  state of each layer with its own rng, e.g. Dropout), "optimizer" (config and step count),
  "checksums" (CRC-32 of each tensor's bytes),
  "state" (whatever the caller passed: epoch, step, rng states, history, CLI arguments),
  "metadata_crc32" (CRC-32 of all the other metadata; format version 3 on).

Writing is atomic: temp file in the target's folder, write, flush, fsync, rename over the
target, fsync the folder. Loading reads only a regular file (never a device or a FIFO), its
header first (at most 16 MiB of JSON, bounded in depth and size by `bounded.check_json`) and
the rest only once the header's tensors tile the file's real size; it checks every tensor's
name, shape and dtype and both kinds of checksum, and the model config's layers and parameter
count against the tensors held, before anything is built or changed. It never runs code from
the file (no pickle anywhere), nor an initializer (the weights come from the file).
"""
from .file import FORMAT, FORMAT_VERSION, METADATA_CHECKSUM, OPTIM_PREFIX, atomic_write, metadata_checksum, read
from .folder import CheckpointDir
from .rebuild import MAX_LAYERS
from .save_load import load, load_weights, save

__all__ = ["save", "load", "load_weights", "read", "atomic_write", "metadata_checksum",
           "CheckpointDir", "FORMAT", "FORMAT_VERSION", "OPTIM_PREFIX", "METADATA_CHECKSUM", "MAX_LAYERS"]
