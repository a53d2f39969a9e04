'use strict';
// Devices: 'cpu', 'cpu(0)', 'gpu', 'gpu(1)', or { type: 'gpu', id: 1 }; the DLPack type numbers
// of c_api.h (MX_DEVICE_CPU, MX_DEVICE_GPU).
const TYPES = { cpu: 1, gpu: 2 };
const NAMES = { 1: 'cpu', 2: 'gpu' };

function parseDevice(device = 'cpu') {
  if (typeof device === 'object' && device !== null) {
    return { type: TYPES[device.type] ?? throwBad(device), id: device.id ?? 0 };
  }
  const m = /^(cpu|gpu)(?:\((\d+)\))?$/.exec(String(device).trim());
  if (!m) throwBad(device);
  return { type: TYPES[m[1]], id: Number(m[2] ?? 0) };
}

function deviceName(type, id) {
  return `${NAMES[type] ?? `device${type}`}(${id})`;
}

function throwBad(device) {
  throw new TypeError(`bad device ${JSON.stringify(device)}: expected 'cpu', 'gpu(1)' or { type, id }`);
}

module.exports = { parseDevice, deviceName };
