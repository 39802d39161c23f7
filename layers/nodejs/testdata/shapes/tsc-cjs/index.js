"use strict";
// What tsc emits for `export const handler = async (...) => ...` with
// "module": "commonjs".
Object.defineProperty(exports, "__esModule", { value: true });
exports.handler = void 0;
const handler = async (event) => {
    return { shape: 'tsc', n: event.n };
};
exports.handler = handler;
