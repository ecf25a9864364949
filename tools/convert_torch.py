#!/usr/bin/python3
"""PyTorch weights <-> safetensors, for unet-engine. Run it with Debian's python3-torch
(/usr/bin/python3). `unet import` and `unet export` call it; it also runs on its own.

  convert_torch.py to-safetensors IN OUT
      IN: what torch.save wrote (.pt, .pth, .bin) holding a state_dict, a whole model, or a
      checkpoint dict with the weights under 'model_state_dict' or 'state_dict' (also
      'model_state', 'model', 'net'); or a .safetensors file. OUT: the weights as float32
      safetensors under their state_dict names ('module.' prefixes of DataParallel removed).
      float16, bfloat16 and float64 tensors are converted to float32 (with a note); integer
      tensors other than BatchNorm's num_batches_tracked are refused. OUT carries no model
      config: `unet import` (or `unet predict` directly) recognises the model from the names
      and shapes, and `unet import` writes the config into its output.
  convert_torch.py to-torch IN OUT
      IN: a unet-engine safetensors file (with its "config" metadata). OUT: torch.save() of
      the state_dict, checked first with load_state_dict(strict=True) in the matching class
      of tools/torch_models.py (the reference layout's names are also those of
      mateuszbuda/brain-segmentation-pytorch's own UNet class).
"""
import argparse
import collections
import inspect
import io
import json
import os
import pickle
import struct
import sys
import textwrap
import zipfile

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402  (beside this file)

HAS_WEIGHTS_ONLY = "weights_only" in inspect.signature(torch.load).parameters

SAFETY = textwrap.fill(
    "Reading a pickle can run code; this converter never imports or runs anything from the file. "
    + ("It reads it with torch.load(weights_only=True) (this torch, " + torch.__version__ + ", has it) and, when "
       "that refuses the file (a whole pickled model; in torch 1.13 also a checkpoint dict with a float in it), "
       if HAS_WEIGHTS_ONLY else
       "This torch (" + torch.__version__ + ") has no torch.load(weights_only=True), so it reads every pickle ")
    + "with its own restricted unpickler: tensors, containers, numbers and torch.nn layers are rebuilt; any other "
    "class the pickle names (the model's own class, a config object) becomes an empty stand-in module that only "
    "holds the attributes stored in the file; any function the pickle would call (os.system...) is refused.",
    width=100)


class Refused(Exception):
    """The input is not something this converter can turn into model weights; the message says why."""


# ---- safetensors, read and written with numpy (Debian has no python3-safetensors) ----------

ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64,
             "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def looks_like_safetensors(path):
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return head[8:9] == b"{" and n <= os.path.getsize(path) - 8


def read_safetensors(path):
    """{name: torch tensor} in file order, and the metadata."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + n])
    except (struct.error, ValueError) as e:
        raise Refused(f"{path}: not a readable safetensors file ({e})")
    metadata = header.pop("__metadata__", {}) or {}
    tensors = collections.OrderedDict()
    body = data[8 + n:]
    for name, info in header.items():
        dtype = info.get("dtype")
        if dtype not in ST_DTYPES:
            raise Refused(f"{path}: tensor '{name}' has dtype {dtype}, which this converter does not read")
        begin, end = info["data_offsets"]
        if not 0 <= begin <= end <= len(body):
            raise Refused(f"{path}: tensor '{name}' lies outside the file (truncated?)")
        array = np.frombuffer(body[begin:end], dtype=ST_DTYPES[dtype]).reshape(info["shape"]).copy()
        if dtype == "BF16":  # numpy has no bfloat16: same bits, viewed by torch
            tensors[name] = torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
        else:
            tensors[name] = torch.from_numpy(array)
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        data = t.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---- pickles ---------------------------------------------------------------------------------
# torch.load(pickle_module=...) cannot restrict what a pickle calls: torch 1.13 replaces any
# pickle_module by the standard one unless weights_only=True. So the restricted reader below
# opens torch.save's formats itself (the zip of torch >= 1.6 and the older sequence of pickles)
# and builds tensors with its own functions, never torch's or the file's.

class StandIn(nn.Module):
    """Takes the place of a class that the pickle names but that is not imported (the model's
    own class, a config object): an empty module holding only the attributes from the file."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def __setstate__(self, state):
        if isinstance(state, dict):
            super().__setstate__(state)
        else:
            self.__dict__["_pickled_state"] = state


STORAGE_DTYPES = {"FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
                  "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
                  "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
                  "BoolStorage": torch.bool}


class StorageType:
    def __init__(self, dtype):
        self.dtype = dtype


def rebuild_tensor(storage, offset, size, stride, *unused):
    return storage.as_strided(size, stride, offset)


def rebuild_parameter(data, requires_grad, *unused):
    return nn.Parameter(data, requires_grad)


def rebuild_from_type(func, new_type, args, state):
    return func(*args)


SAFE_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "object"): object,
    ("copyreg", "_reconstructor"): __import__("copyreg")._reconstructor,
    ("torch", "Size"): torch.Size,
    ("torch", "device"): torch.device,
    ("torch._utils", "_rebuild_tensor"): rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): rebuild_from_type,
    ("torch.nn.parameter", "Parameter"): nn.Parameter,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy.core.multiarray", "scalar"): np.core.multiarray.scalar,
    ("numpy.core.multiarray", "_reconstruct"): np.core.multiarray._reconstruct,
}
NEVER_STAND_IN = ("builtins", "os", "posix", "nt", "subprocess", "sys", "shutil", "importlib", "runpy", "code")


class RestrictedUnpickler(pickle.Unpickler):
    """Rebuilds tensors, containers, numbers and torch.nn layers; other classes become
    stand-ins; refuses every function that is not one of SAFE_GLOBALS."""
    stand_ins = {}

    def __init__(self, file, persistent_load):
        super().__init__(file, encoding="utf-8")
        self.persistent_load = persistent_load

    def find_class(self, module, name):
        module = {"__builtin__": "builtins", "copy_reg": "copyreg"}.get(module, module)  # protocol 2 names
        if (module, name) in SAFE_GLOBALS:
            return SAFE_GLOBALS[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(STORAGE_DTYPES[name])
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        if module.startswith("torch.nn.modules.") and module in sys.modules:
            cls = getattr(sys.modules[module], name, None)
            if isinstance(cls, type) and issubclass(cls, nn.Module):
                return cls
        # A class of another program (or of another torch version): an inert stand-in. Only
        # names that look like classes qualify; a function such as os.system never does.
        if name[:1].isupper() and name.isidentifier() and module.split(".")[0] not in NEVER_STAND_IN:
            key = (module, name)
            if key not in self.stand_ins:
                self.stand_ins[key] = type(name, (StandIn,), {"__module__": "stand_in." + module})
            return self.stand_ins[key]
        raise Refused(f"the pickle calls {module}.{name}, which is no part of a model's weights: refused, "
                      "and nothing from the file was run")


def storage_pid(pid):
    """(typename, storage type, key, location, numel, ...) of a stored tensor."""
    if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], StorageType)):
        raise Refused(f"an unknown kind of stored data ({str(pid)[:80]})")
    return pid


def restricted_load_zip(path):
    with zipfile.ZipFile(path) as z:
        pickles = [n for n in z.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise Refused("a zip file, but not one torch.save wrote (no <name>/data.pkl)")
        root = pickles[0][: -len("data.pkl")]

        def persistent_load(pid):
            _, storage_type, key, _, numel = storage_pid(pid)[:5]
            data = bytearray(z.read(f"{root}data/{key}"))
            return torch.frombuffer(data, dtype=storage_type.dtype)[:numel] if data else torch.empty(0, dtype=storage_type.dtype)

        return RestrictedUnpickler(io.BytesIO(z.read(pickles[0])), persistent_load).load()


def restricted_load_legacy(path):
    """torch.save before 1.6: magic, protocol and system pickles, the object, the storage
    keys, then each storage's element count and bytes in that order."""
    storages = {}

    def persistent_load(pid):
        if isinstance(pid, tuple) and pid[:1] == ("module",) and len(pid) > 1:
            return pid[1]  # a module class with its source code, kept for torch's source check: the class is enough
        _, storage_type, key, _, numel = storage_pid(pid)[:5]
        if key not in storages:
            storages[key] = torch.empty(int(numel), dtype=storage_type.dtype)
        view = pid[5] if len(pid) > 5 else None
        return storages[key] if view is None else storages[key][view[1]: view[1] + view[2]]

    with open(path, "rb") as f:
        def load():
            return RestrictedUnpickler(f, persistent_load).load()
        if load() != 0x1950a86a20f9469cfc6c:
            raise Refused("not a file torch.save wrote (no zip archive, no legacy magic number)")
        load(), load()  # protocol version, system information
        result = load()
        for key in load():
            (numel,) = struct.unpack("<q", f.read(8))
            t = storages[key]
            data = bytearray(f.read(numel * t.element_size()))
            if numel != t.numel() or len(data) != numel * t.element_size():
                raise Refused(f"stored data '{key}' is truncated or has the wrong size")
            t.copy_(torch.frombuffer(data, dtype=t.dtype) if data else t)
    return result


def load_pickle(path):
    """The unpickled object and how it was read."""
    if HAS_WEIGHTS_ONLY:
        try:
            return torch.load(path, map_location="cpu", weights_only=True), "with torch.load(weights_only=True)"
        except pickle.UnpicklingError:
            pass  # more than weights_only takes (see SAFETY): the restricted reader decides
        except Exception as e:
            raise Refused(f"{path}: not a file torch.save wrote ({type(e).__name__}: {e})")
    try:
        if zipfile.is_zipfile(path):
            return restricted_load_zip(path), "with the restricted unpickler"
        return restricted_load_legacy(path), "with the restricted unpickler (torch.save's format before 1.6)"
    except Refused as e:
        raise Refused(f"{path}: {e}")
    except Exception as e:
        raise Refused(f"{path}: not a file torch.save wrote, or one this converter cannot read "
                      f"({type(e).__name__}: {e})")


# ---- from whatever was pickled to a state_dict ---------------------------------------------

CHECKPOINT_KEYS = ("model_state_dict", "state_dict", "model_state", "model", "net")


def is_module(obj):
    return isinstance(obj, nn.Module) and "_modules" in obj.__dict__


def describe(obj):
    if isinstance(obj, dict):
        keys = list(obj)
        shown = ", ".join(repr(k) for k in keys[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
        return f"a dict with {len(keys)} keys ({shown})" if keys else "an empty dict"
    if isinstance(obj, (list, tuple)):
        return f"a {type(obj).__name__} of {len(obj)} items"
    if isinstance(obj, StandIn):
        return f"an object of class {type(obj).__module__.replace('stand_in.', '', 1)}.{type(obj).__name__}"
    name = type(obj).__name__
    return ("an " if name[:1] in "aeiou" else "a ") + name


def state_dict_of(obj, path, notes):
    if is_module(obj):
        cls = type(obj)
        module = cls.__module__.replace("stand_in.", "", 1)
        notes.append(f"a whole pickled model (class {module}.{cls.__name__}); took its state_dict()")
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in CHECKPOINT_KEYS:
            inner = obj.get(key)
            if is_module(inner) or (isinstance(inner, dict) and any(isinstance(v, torch.Tensor) for v in inner.values())):
                notes.append(f"a checkpoint dict; took the weights under '{key}'")
                return state_dict_of(inner, path, notes)
        if any(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise Refused(f"{path}: holds {describe(obj)}, not a model: expected a state_dict (names -> tensors), a whole "
                  f"torch.nn.Module, or a checkpoint dict with the weights under "
                  + " or ".join(f"'{k}'" for k in CHECKPOINT_KEYS[:2]))


def strip_prefixes(state, notes):
    """DataParallel saves 'module.x', torch.compile '_orig_mod.x': the model's own names are x."""
    for prefix in ("module.", "_orig_mod."):
        while state and all(k.startswith(prefix) for k in state):
            state = collections.OrderedDict((k[len(prefix):], v) for k, v in state.items())
            notes.append(f"removed the prefix '{prefix}' from every name")
    return state


def as_float32(state, path, notes):
    out, converted = collections.OrderedDict(), collections.Counter()
    for name, t in state.items():
        if not isinstance(t, torch.Tensor):
            raise Refused(f"{path}: '{name}' is {describe(t)}, not a tensor: not a state_dict")
        if name.endswith("num_batches_tracked"):
            if t.dtype.is_floating_point or t.dtype == torch.bool or t.numel() != 1:
                raise Refused(f"{path}: '{name}' is a {t.dtype} tensor of shape {list(t.shape)}; BatchNorm's counter "
                              "is one integer")
            out[name] = t.to(torch.int64).reshape(())
        elif t.dtype == torch.float32:
            out[name] = t
        elif t.dtype in (torch.float16, torch.bfloat16, torch.float64):
            converted[str(t.dtype).replace("torch.", "")] += 1
            out[name] = t.to(torch.float32)
        else:
            raise Refused(f"{path}: tensor '{name}' has dtype {str(t.dtype).replace('torch.', '')}; a model's weights "
                          "are floating point (only num_batches_tracked is an integer): refused")
    for dtype, n in sorted(converted.items()):
        exact = "exactly" if dtype != "float64" else "rounded to the nearest float32"
        notes.append(f"note: converted {n} {dtype} tensor{'s' if n > 1 else ''} to float32 ({exact})")
    return out


def to_safetensors(src, dst):
    notes = []
    if looks_like_safetensors(src):
        state, _ = read_safetensors(src)
        how = "as safetensors"
    else:
        obj, how = load_pickle(src)
        state = state_dict_of(obj, src, notes)
    state = as_float32(strip_prefixes(collections.OrderedDict(state), notes), src, notes)
    if not state:
        raise Refused(f"{src}: holds no tensors")
    write_safetensors(dst, state, {"format": "pt", "source": os.path.basename(src)})
    print(f"{src}: read {how}; {len(state)} tensors")
    for n in notes:
        print(f"{src}: {n}")


def to_torch(src, dst):
    tensors, metadata = read_safetensors(src)
    if "config" not in metadata:
        raise Refused(f"{src}: no unet-engine model config in its metadata; `unet export` writes it for any file "
                      "that `unet predict` reads")
    config = json.loads(metadata["config"])
    model = torch_models.build_model(config)
    names = list(model.state_dict())
    missing = [n for n in names if n not in tensors]
    if missing:
        raise Refused(f"{src}: {len(missing)} tensors of the model are missing, e.g. {', '.join(missing[:3])}")
    state = collections.OrderedDict((n, tensors[n]) for n in names)
    model.load_state_dict(state, strict=True)  # the check: PyTorch's own class accepts it
    tmp = dst + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, dst)
    ignored = len(tensors) - len(names)
    print(f"{dst}: state_dict of {len(names)} tensors" + (f" ({ignored} others, such as optimizer state, left out)"
                                                         if ignored else ""))
    print(f"load it in PyTorch: sys.path.insert(0, '{os.path.dirname(os.path.abspath(__file__))}'); "
          f"import torch, torch_models; model = {torch_models.constructor_call(config)}; "
          f"model.load_state_dict(torch.load('{dst}')); model.eval()")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=SAFETY,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    a = commands.add_parser("to-safetensors", help="a PyTorch pickle (or foreign safetensors) -> float32 safetensors",
                            description=__doc__.split("\n\n")[1], epilog=SAFETY,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("input")
    a.add_argument("output")
    b = commands.add_parser("to-torch", help="unet-engine safetensors -> torch.save(state_dict)",
                            description=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("input")
    b.add_argument("output")
    args = parser.parse_args()
    try:
        (to_safetensors if args.command == "to-safetensors" else to_torch)(args.input, args.output)
    except Refused as e:
        print(e, file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{e.filename or args.input}: {e.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
