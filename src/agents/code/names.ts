import { boundName, cFunctionName, field, functionNodeName, walk } from './ast.js';
import { isJsLike, type Lang } from './lang.js';
import { type Parsed, type SNode, withParsed } from './parser.js';

const IDENTIFIER_TYPES = new Set([
  'identifier', 'property_identifier', 'field_identifier', 'type_identifier', 'shorthand_property_identifier',
  'private_property_identifier', 'constant',
]);

/** Parameter containers: names declared there are local bindings, not references. */
const PARAMETER_LISTS = new Set(['parameters', 'lambda_parameters', 'formal_parameters', 'parameter_list', 'formal_parameter']);

function isDefinitionName(n: SNode): boolean {
  const parent = n.parent;
  if (!parent) return false;
  if (n.field === 'name') {
    return (
      parent.type.endsWith('_definition') ||
      parent.type.endsWith('_declaration') ||
      parent.type.endsWith('_item') ||
      parent.type === 'keyword_argument' ||
      parent.type === 'type_spec' ||
      parent.type === 'formal_parameter' ||
      parent.type === 'default_parameter' ||
      parent.type === 'typed_default_parameter' ||
      parent.type === 'parameter_declaration' ||
      parent.type === 'method_signature' ||
      parent.type === 'method_spec' ||
      parent.type === 'method_elem'
    );
  }
  if (PARAMETER_LISTS.has(parent.type)) return true;
  // C/C++: a function's own name in its declarator, and a parameter's name.
  if (n.field === 'declarator' && (parent.type === 'function_declarator' || parent.type === 'parameter_declaration')) return true;
  if ((parent.type === 'required_parameter' || parent.type === 'optional_parameter') && n.field === 'pattern') return true;
  if (parent.type === 'typed_parameter' && parent.children[0] === n) return true;
  if (parent.type === 'parameter' && n.field === 'pattern') return true;
  return false;
}

/** Identifiers a source refers to (called, accessed, imported, instantiated), minus its own definition names and parameters. */
export async function referencedNames(lang: Lang, source: string): Promise<Set<string>> {
  return withParsed(lang, source, (p) => referencedNamesIn(p));
}

export function referencedNamesIn(p: Parsed): Set<string> {
  const out = new Set<string>();
  walk(p.root, (n) => {
    if (n.type === 'comment' || n.type === 'line_comment' || n.type === 'block_comment') return false;
    if (!IDENTIFIER_TYPES.has(n.type) || isDefinitionName(n)) return;
    const t = p.text(n);
    if (t.length > 0) out.add(t.replace(/^#/, ''));
  });
  return out;
}

export interface DefinedFunction {
  name: string;
  start: number;
  end: number;
  /** 1-based lines. */
  line: number;
  endLine: number;
}

const DEFINITIONS: Record<Lang, ReadonlySet<string>> = {
  python: new Set(['function_definition', 'class_definition']),
  javascript: new Set([
    'function_declaration', 'generator_function_declaration', 'class_declaration', 'abstract_class_declaration',
    'method_definition', 'class',
  ]),
  typescript: new Set(),
  tsx: new Set(),
  go: new Set(['function_declaration', 'method_declaration', 'type_spec']),
  rust: new Set(['function_item', 'struct_item', 'enum_item', 'trait_item', 'union_item']),
  java: new Set([
    'class_declaration', 'interface_declaration', 'enum_declaration', 'record_declaration', 'method_declaration',
    'constructor_declaration', 'annotation_type_declaration',
  ]),
  // Only specifiers with a body define a type (`struct point *p` merely names one); see definedFunctionsIn.
  c: new Set(['function_definition', 'struct_specifier', 'union_specifier', 'enum_specifier']),
  cpp: new Set(['function_definition', 'struct_specifier', 'union_specifier', 'enum_specifier', 'class_specifier']),
};
DEFINITIONS.typescript = new Set([...DEFINITIONS.javascript, 'interface_declaration', 'enum_declaration', 'method_signature', 'abstract_method_signature']);
DEFINITIONS.tsx = DEFINITIONS.typescript;

/** Names of functions, methods and classes (types, in Go/Rust) defined, with their ranges. */
export async function definedFunctions(lang: Lang, source: string): Promise<DefinedFunction[]> {
  return withParsed(lang, source, (p) => definedFunctionsIn(p));
}

export function definedFunctionsIn(p: Parsed): DefinedFunction[] {
  const out: DefinedFunction[] = [];
  const defs = DEFINITIONS[p.lang];
  const add = (name: string, range: SNode): void => {
    out.push({ name, start: range.start, end: range.end, line: range.row + 1, endLine: range.endRow + 1 });
  };
  walk(p.root, (n) => {
    if (n.isError) return false;
    if ((p.lang === 'c' || p.lang === 'cpp') && defs.has(n.type)) {
      const name = n.type === 'function_definition' ? cFunctionName(p, n) : field(n, 'body') ? p.text(field(n, 'name') ?? n) : null;
      if (name && (n.type === 'function_definition' || field(n, 'name'))) add(name, n);
      return;
    }
    if (defs.has(n.type)) {
      const nameNode = field(n, 'name');
      if (!nameNode) return;
      // Decorators belong to the definition they decorate.
      const range = p.lang === 'python' && n.parent?.type === 'decorated_definition' ? n.parent : n;
      add(p.text(nameNode), range);
      return;
    }
    if (isJsLike(p.lang) && (n.type === 'arrow_function' || n.type === 'function_expression' || n.type === 'function' || n.type === 'generator_function')) {
      // A named function expression (`var f = function g() {}`, `module.exports = c ? function g() {} : ...`) goes by
      // both names: callers use the binding, while the code inside it, as its edits see it, belongs to its own name.
      const own = field(n, 'name');
      if (own) add(p.text(own), n);
      const name = boundName(p, n);
      if (!name || (own && p.text(own) === name)) return;
      // `const f = () => ...`: the declaration statement is the definition's extent.
      let range: SNode = n;
      const decl = n.parent?.type === 'variable_declarator' ? n.parent : null;
      if (decl && decl.parent && (decl.parent.type === 'lexical_declaration' || decl.parent.type === 'variable_declaration')) {
        range = decl.parent.children.filter((c) => c.type === 'variable_declarator').length === 1 ? decl.parent : decl;
        if (range.parent?.type === 'export_statement') range = range.parent;
      }
      add(name, range);
    }
  });
  return out;
}
