import { field, namedChildren, walk } from './ast.js';
import type { Parsed, SNode } from './parser.js';

/* Zero values of declared types, so that stubs and `return` changes still compile. Each returns
   null where the type's zero cannot be written safely from this file alone. */

const GO_NUMERIC = new Set([
  'int', 'int8', 'int16', 'int32', 'int64', 'uint', 'uint8', 'uint16', 'uint32', 'uint64', 'uintptr',
  'float32', 'float64', 'complex64', 'complex128', 'byte', 'rune',
]);
const GO_NIL_TYPES = new Set(['pointer_type', 'slice_type', 'map_type', 'channel_type', 'function_type', 'interface_type']);
/** Well-known standard-library types whose kind is certain. */
const GO_KNOWN_QUALIFIED: Record<string, string> = {
  'time.Duration': '0',
  'time.Month': '0',
  'time.Weekday': '0',
  'os.FileMode': '0',
  'fs.FileMode': '0',
  'time.Time': 'time.Time{}',
  'big.Int': 'big.Int{}',
  'strings.Builder': 'strings.Builder{}',
  'bytes.Buffer': 'bytes.Buffer{}',
  'sync.Mutex': 'sync.Mutex{}',
  'sync.RWMutex': 'sync.RWMutex{}',
  'sync.WaitGroup': 'sync.WaitGroup{}',
  'context.Context': 'nil',
  'io.Reader': 'nil',
  'io.Writer': 'nil',
  'io.ReadCloser': 'nil',
  'io.WriteCloser': 'nil',
  'io.ReadWriter': 'nil',
  'io.ReadWriteCloser': 'nil',
  'io.Closer': 'nil',
  'fmt.Stringer': 'nil',
  'http.Handler': 'nil',
  'http.HandlerFunc': 'nil',
  'reflect.Type': 'nil',
  'json.RawMessage': 'nil',
  'net.Conn': 'nil',
  'sql.Result': 'nil',
  'fs.FS': 'nil',
};

/** Type declarations of a Go file and the type parameters in scope, for resolving named types. */
export class GoTypes {
  private readonly decls = new Map<string, SNode>();
  constructor(private readonly p: Parsed) {
    walk(p.root, (n) => {
      if (n.type === 'type_spec' || n.type === 'type_alias') {
        const name = field(n, 'name');
        const type = field(n, 'type');
        if (name && type) this.decls.set(p.text(name), type);
        return false;
      }
      return n.type === 'source_file' || n.type === 'type_declaration';
    });
  }

  /** The zero value of a type node, given the names of type parameters in scope. */
  zero(t: SNode, typeParams: ReadonlySet<string>, seen = new Set<string>()): string | null {
    const text = this.p.text(t);
    switch (t.type) {
      case 'type_identifier': {
        if (GO_NUMERIC.has(text)) return '0';
        if (text === 'string') return '""';
        if (text === 'bool') return 'false';
        if (text === 'error' || text === 'any') return 'nil';
        if (typeParams.has(text)) return `*new(${text})`;
        const decl = this.decls.get(text);
        if (!decl || seen.has(text)) return null;
        seen.add(text);
        if (decl.type === 'struct_type' || decl.type === 'array_type') return `${text}{}`;
        if (decl.type === 'slice_type' || decl.type === 'map_type') return 'nil';
        // Untyped constants and nil convert implicitly to a defined type with that underlying type.
        return this.zero(decl, typeParams, seen);
      }
      case 'qualified_type':
        return GO_KNOWN_QUALIFIED[text] ?? null;
      case 'generic_type': {
        const base = field(t, 'type');
        const decl = base ? this.decls.get(this.p.text(base)) : undefined;
        if (decl && (decl.type === 'struct_type' || decl.type === 'array_type')) return `${text}{}`;
        if (decl && GO_NIL_TYPES.has(decl.type)) return 'nil';
        return null;
      }
      case 'array_type':
      case 'struct_type':
        return `${text}{}`;
      case 'parenthesized_type': {
        const inner = namedChildren(t)[0];
        return inner ? this.zero(inner, typeParams, seen) : null;
      }
      default:
        return GO_NIL_TYPES.has(t.type) ? 'nil' : null;
    }
  }

  /**
   * The operands of a `return` giving a Go function's zero results: '' for no results or named
   * results (a bare `return` suffices), null when some result type cannot be zeroed. With
   * `fallback`, unknown types use `*new(T)`, which is the zero value of any type.
   */
  returnZeros(fn: SNode, fallback = false): string | null {
    const result = field(fn, 'result');
    if (!result) return '';
    const typeParams = goTypeParams(this.p, fn);
    const zero = (t: SNode): string | null => this.zero(t, typeParams) ?? (fallback ? `*new(${this.p.text(t)})` : null);
    if (result.type !== 'parameter_list') return zero(result);
    const parts: string[] = [];
    for (const decl of namedChildren(result)) {
      if (decl.type !== 'parameter_declaration') return null;
      if (field(decl, 'name')) return '';
      const t = field(decl, 'type');
      const z = t ? zero(t) : null;
      if (z === null) return null;
      parts.push(z);
    }
    return parts.join(', ');
  }
}

/** Type parameter names of a Go function and, for methods, of the receiver's generic type. */
export function goTypeParams(p: Parsed, fn: SNode): Set<string> {
  const out = new Set<string>();
  const tps = field(fn, 'type_parameters');
  if (tps) {
    for (const d of namedChildren(tps)) for (const c of d.children) if (c.field === 'name') out.add(p.text(c));
  }
  const recv = field(fn, 'receiver');
  if (recv) {
    // `func (l *List[T]) ...` binds T for the method body.
    walk(recv, (n) => {
      if (n.type === 'type_arguments') {
        for (const a of namedChildren(n)) out.add(p.text(a));
        return false;
      }
    });
  }
  return out;
}

/* TypeScript */

/** Zero value for a TS return type annotation's type node, or null. `void` yields ''. */
export function tsZero(p: Parsed, t: SNode, isAsync: boolean): string | null {
  const text = p.text(t).trim();
  switch (t.type) {
    case 'predefined_type':
      switch (text) {
        case 'number':
          return '0';
        case 'string':
          return "''";
        case 'boolean':
          return 'false';
        case 'void':
        case 'undefined':
          return '';
        case 'any':
        case 'unknown':
          return 'undefined';
        case 'bigint':
          return '0n';
        case 'object':
          return '{}';
        case 'null':
          return 'null';
        default:
          return null;
      }
    case 'array_type':
      return '[]';
    case 'readonly_type':
      return namedChildren(t)[0]?.type === 'array_type' ? '[]' : null;
    case 'literal_type':
      return text;
    case 'parenthesized_type': {
      const inner = namedChildren(t)[0];
      return inner ? tsZero(p, inner, isAsync) : null;
    }
    case 'union_type': {
      const members = flattenUnion(t);
      const texts = members.map((m) => p.text(m).trim());
      if (texts.includes('undefined')) return 'undefined';
      if (texts.includes('null')) return 'null';
      for (const m of members) {
        const z = tsZero(p, m, isAsync);
        if (z) return z;
      }
      return null;
    }
    case 'generic_type': {
      const name = field(t, 'name') ?? namedChildren(t)[0];
      const args = childTypeArgs(t);
      const base = name ? p.text(name) : '';
      if (base === 'Promise' && args.length === 1) {
        const inner = tsZero(p, args[0]!, false);
        if (inner === null) return null;
        if (isAsync) return inner;
        return inner === '' ? 'Promise.resolve()' : `Promise.resolve(${inner})`;
      }
      if (base === 'Array' || base === 'ReadonlyArray') return '[]';
      if (base === 'Map' || base === 'Set') return `new ${base}()`;
      if (base === 'Record' || base === 'Partial') return '{}';
      return null;
    }
    case 'type_identifier':
      return null;
    default:
      return null;
  }
}

function flattenUnion(t: SNode): SNode[] {
  const out: SNode[] = [];
  for (const c of namedChildren(t)) {
    if (c.type === 'union_type') out.push(...flattenUnion(c));
    else out.push(c);
  }
  return out;
}

function childTypeArgs(t: SNode): SNode[] {
  const args = t.children.find((c) => c.type === 'type_arguments');
  return args ? namedChildren(args) : [];
}

/* Java */

export function javaZero(p: Parsed, t: SNode): string | null {
  switch (t.type) {
    case 'void_type':
      return '';
    case 'integral_type':
      return p.text(t) === 'char' ? "'\\0'" : '0';
    case 'floating_point_type':
      // An int constant widens to float/double in a return, and reads naturally.
      return '0';
    case 'boolean_type':
      return 'false';
    default:
      return 'null';
  }
}

/* Rust */

const RUST_INTS = /^(i8|i16|i32|i64|i128|isize|u8|u16|u32|u64|u128|usize)$/;
const RUST_NEW = new Set(['Vec', 'VecDeque', 'HashMap', 'HashSet', 'BTreeMap', 'BTreeSet', 'String']);

/** A Rust expression of the return type, '' for unit, or null where none is simple and certain. */
export function rustZero(p: Parsed, t: SNode | null): string | null {
  if (!t) return '';
  const text = p.text(t);
  switch (t.type) {
    case 'unit_type':
      return '';
    case 'primitive_type':
      if (RUST_INTS.test(text)) return '0';
      if (text === 'f32' || text === 'f64') return '0.0';
      if (text === 'bool') return 'false';
      if (text === 'char') return "'\\0'";
      return null;
    case 'reference_type':
      return /^&('\w+\s+)?str$/.test(text.replace(/\s+/g, ' ')) ? '""' : null;
    case 'type_identifier':
      return RUST_NEW.has(text) ? `${text}::new()` : null;
    case 'generic_type': {
      const base = field(t, 'type');
      const name = base ? p.text(base) : '';
      if (name === 'Option') return 'None';
      if (RUST_NEW.has(name)) return `${name}::new()`;
      return null;
    }
    default:
      return null;
  }
}

/* C and C++ */

/** Integer typedefs of the standard headers: `0` is their zero whatever the platform makes them. */
const C_INT_TYPEDEFS = /^(?:u?int(?:8|16|32|64|max|ptr)?_t|u?int_(?:least|fast)(?:8|16|32|64)_t|s?size_t|ptrdiff_t|off_t|ssize_t|wchar_t|char(?:8|16|32)_t|std::size_t|std::u?int(?:8|16|32|64)_t|std::ptrdiff_t)$/;

/**
 * The value a C/C++ function returns in place of its result, '' for void, or null where none is certain to compile:
 * `0` or `false` for arithmetic types and pointers (a null pointer constant in both languages), and otherwise C's
 * compound literal `(T){0}` (any complete object type) or C++'s value-initialising `{}` (any default-constructible
 * type). Constructors, deduced (`auto`) results and references get none.
 */
export function cZero(p: Parsed, fn: SNode): string | null {
  const type = field(fn, 'type');
  if (!type) return null;
  const text = p.text(type).replace(/\s+/g, ' ').trim();
  let declarator = field(fn, 'declarator');
  let pointer = false;
  while (declarator && declarator.type !== 'function_declarator') {
    if (declarator.type === 'pointer_declarator') pointer = true;
    if (declarator.type === 'reference_declarator') return null;
    declarator = field(declarator, 'declarator') ?? declarator.children.find((c) => c.named && c.type.endsWith('_declarator')) ?? null;
  }
  if (!declarator) return null;
  // A trailing return type (`auto f() -> int`) or a deduced one decides nothing here.
  if (type.type === 'placeholder_type_specifier' || type.type === 'decltype' || /^(?:auto|decltype)\b/.test(text)) return null;
  if (pointer) return p.lang === 'cpp' ? 'nullptr' : '0';
  if (type.type === 'primitive_type' || type.type === 'sized_type_specifier') {
    if (text === 'void') return '';
    if (text === 'bool' || text === '_Bool') return 'false';
    return '0';
  }
  if (C_INT_TYPEDEFS.test(text)) return '0';
  if (p.lang === 'cpp') return '{}';
  // The function's own qualifiers (static, inline, const) are siblings of the type, not part of it.
  return `(${text}){0}`;
}
