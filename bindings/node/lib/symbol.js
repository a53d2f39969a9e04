'use strict';
// Symbol: a graph loaded from MXNet 1.x JSON (a checkpoint's -symbol.json), read-only here.
const { call, decodeArray } = require('./ffi');
const { Owned } = require('./handle');

function names(fn, handle) {
  const num = [0];
  const out = [null];
  call(fn, handle, num, out);
  return decodeArray(out[0], 'const char *', num[0]);
}

class Symbol extends Owned {
  constructor(handle) {
    super(handle, 'mx_symbol_free');
  }

  /** Reads a -symbol.json file. */
  static load(path) {
    const out = [null];
    call('mx_symbol_load', path, out);
    return new Symbol(out[0]);
  }

  static fromJSON(json) {
    const out = [null];
    call('mx_symbol_from_json', json, out);
    return new Symbol(out[0]);
  }

  toJSON() {
    const out = [null];
    call('mx_symbol_to_json', this.handle, out);
    return out[0];
  }

  listArguments() {
    return names('mx_symbol_list_arguments', this.handle);
  }

  listOutputs() {
    return names('mx_symbol_list_outputs', this.handle);
  }

  listAuxiliaryStates() {
    return names('mx_symbol_list_auxiliary_states', this.handle);
  }
}

module.exports = { Symbol };
