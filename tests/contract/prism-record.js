'use strict';
// Preloaded into `prism proxy` (node --require) by tests/integration/prismlib.py.
//
// Prism 5.14.2 reports each request's contract violations in the `sl-violations` response
// header (a JSON array of {location, severity, code, message}) and in its human log, where a
// violation line does not say which request it belongs to.  This hook reads them where they
// are exact: when Prism's HTTP server ends a response, it appends one JSON line for that
// exchange to the file named by $PRISM_RECORD_FILE:
//
//   {"method": "GET", "url": "/api/v1/x?y=1", "status": 200,
//    "violations": [{"location": [...], "severity": "Error", "code": "type", "message": "..."}],
//    "prism_error": null | {"type": "...", "title": "...", "detail": "..."},
//    "truncated": false}
//
// prism_error is set when the answer was made by Prism itself, not by the upstream (the upstream
// could not be reached or was not trusted, its JSON did not parse, ...): Prism's HTTP server
// turns every such failure into a problem+json through ProblemJsonError.toProblemJson() and
// sends it at once, so the hook wraps that function and gives its result to the next response
// to end (JavaScript runs the two without a gap).  truncated is true when Prism cut an over-long
// sl-violations header (then violations holds what could be read).  The hook changes nothing
// the client sees.
const fs = require('fs');
const http = require('http');

const file = process.env.PRISM_RECORD_FILE;
if (!file) {
  throw new Error('prism-record.js: PRISM_RECORD_FILE is not set');
}
fs.writeFileSync(file, '', { flag: 'a' });

const TRUNCATED = 'Too many violations! ';
const proto = http.ServerResponse.prototype;
const setHeader = proto.setHeader;
const end = proto.end;

// Prism's own error answers (see above).
const { ProblemJsonError } = require('@stoplight/prism-http');
const toProblemJson = ProblemJsonError.toProblemJson;
let pendingProblem = null;
ProblemJsonError.toProblemJson = function (error) {
  const problem = toProblemJson.call(this, error);
  pendingProblem = { type: problem.type, title: problem.title, detail: problem.detail,
    status: problem.status };
  return problem;
};

function parseViolations(value) {
  const text = String(value);
  if (!text.startsWith(TRUNCATED)) {
    try {
      return { violations: JSON.parse(text), truncated: false };
    } catch (e) {
      return { violations: [{ location: [], severity: 'Error', code: 'unreadable',
        message: `unreadable sl-violations header: ${text.slice(0, 500)}` }], truncated: false };
    }
  }
  // Prism cut the JSON at 8 KiB: keep every complete {...} object that is left.
  const violations = [];
  const str = '"(?:[^"\\\\]|\\\\.)*"';
  const re = new RegExp(`\\{"location":\\[[^\\]]*\\],"severity":"[A-Za-z]+"` +
    `(?:,"code":(?:${str}|[0-9]+))?,"message":${str}\\}`, 'g');
  for (const m of text.matchAll(re)) {
    try {
      violations.push(JSON.parse(m[0]));
    } catch (e) { /* skip */ }
  }
  violations.push({ location: [], severity: 'Error', code: 'truncated',
    message: 'Prism truncated the violation list (more than 8 KiB of violations)' });
  return { violations, truncated: true };
}

proto.setHeader = function (name, value) {
  if (typeof name === 'string' && name.toLowerCase() === 'sl-violations') {
    this.__prismViolations = parseViolations(value);
  }
  return setHeader.call(this, name, value);
};

proto.end = function (chunk, ...rest) {
  if (!this.__prismRecorded && this.req) {
    this.__prismRecorded = true;
    const prismError = pendingProblem;
    pendingProblem = null;
    const found = this.__prismViolations || { violations: [], truncated: false };
    const record = {
      method: this.req.method,
      url: this.req.url,
      status: this.statusCode,
      violations: found.violations,
      prism_error: prismError,
      truncated: found.truncated,
    };
    try {
      fs.appendFileSync(file, JSON.stringify(record) + '\n');
    } catch (e) {
      process.stderr.write(`prism-record.js: cannot write ${file}: ${e.message}\n`);
    }
  }
  return end.call(this, chunk, ...rest);
};
