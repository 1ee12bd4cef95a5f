// Decoding the arrays Python sends, and the text helpers every other module uses. No DOM state.

export const DL_SVG_NS = "http://www.w3.org/2000/svg";

const DL_TYPED = {
  f4: Float32Array, f8: Float64Array, i1: Int8Array, u1: Uint8Array, i2: Int16Array,
  u2: Uint16Array, i4: Int32Array, u4: Uint32Array,
};

// {dtype, bdata} (base64 typed array), a plain list (null = NaN) or nothing -> Float32Array/Float64Array.
export function dlDecode(value) {
  if (value == null) return new Float32Array(0);
  if (Array.isArray(value)) return Float64Array.from(value, (v) => (v == null ? NaN : Number(v)));
  if (typeof value === "object" && typeof value.bdata === "string") {
    const Type = DL_TYPED[value.dtype] || Float32Array;
    const raw = atob(value.bdata);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    const typed = new Type(bytes.buffer, 0, Math.floor(bytes.length / Type.BYTES_PER_ELEMENT));
    return typed instanceof Float32Array || typed instanceof Float64Array ? typed : Float64Array.from(typed);
  }
  return new Float32Array(0);
}

// Names handed to plotly (which renders a little HTML in legends and hover labels) are entity-escaped.
export function dlEscape(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// An element with a class and text. Visitor text only ever enters the DOM this way (textContent).
export function dlEl(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text != null) el.textContent = text;
  return el;
}

export function dlFormat(v) {
  if (!Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(2) : v.toPrecision(3);
}
