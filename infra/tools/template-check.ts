/**
 * Checks a CloudFormation template against the CloudFormation resource specification (the
 * `@aws-cdk/aws-service-spec` database), so a typo in infra/*.yml, infra/integrations.cjs (each
 * integration's generated queues, role and worker) or serverless.yml fails a test instead of a deploy:
 * unknown resource types, unknown or missing required properties (nested property types too), and every
 * `Ref`, `Fn::GetAtt`, `Fn::Sub` reference, `DependsOn` and condition name that names nothing in the
 * template or an attribute the resource type does not have.
 * test/unit/cloudformation-template.test.ts runs it on the template `serverless package` compiles.
 *   npm run package -- --stage prod && npx tsx infra/tools/template-check.ts [template.json]
 */
import { readFileSync } from "node:fs";
import { loadAwsServiceSpec } from "@aws-cdk/aws-service-spec";
import * as v from "valibot";

/** One mistake in a template: where (`Resources.JobsQueue.Properties.X`) and what. */
export interface TemplateProblem {
  readonly path: string;
  readonly message: string;
}

/** A property's type as the specification writes it: a primitive, `ref` to a type definition, array, map, union. */
interface SpecType {
  readonly type: string;
  readonly element?: SpecType;
  readonly types?: readonly SpecType[];
  readonly reference?: { readonly $ref: string };
}
interface SpecProperty {
  readonly required?: boolean;
  readonly type: SpecType;
  /** Types the property had before; CloudFormation still takes them (e.g. a JSON policy as an object). */
  readonly previousTypes?: readonly SpecType[];
}
interface SpecShape {
  readonly name: string;
  readonly properties: Readonly<Record<string, SpecProperty>>;
}
interface SpecResource extends SpecShape {
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** The part of the resource specification the check reads. */
export interface ResourceSpec {
  /** The resource type, undefined when the specification has no such type. */
  resource(cloudFormationType: string): SpecResource | undefined;
  /** A property type (`AWS::DynamoDB::Table.KeySchema`) by its id in the specification. */
  typeDefinition(id: string): SpecShape;
}

/** Loads the specification bundled with @aws-cdk/aws-service-spec (no network; ~180 MB, a few seconds). */
export async function loadResourceSpec(): Promise<ResourceSpec> {
  const db = await loadAwsServiceSpec();
  return {
    resource: (type) => db.lookup("resource", "cloudFormationType", "equals", type)[0],
    typeDefinition: (id) => db.get("typeDefinition", id),
  };
}

const PSEUDO_PARAMETERS = new Set([
  "AWS::AccountId",
  "AWS::NotificationARNs",
  "AWS::NoValue",
  "AWS::Partition",
  "AWS::Region",
  "AWS::StackId",
  "AWS::StackName",
  "AWS::URLSuffix",
]);
const RESOURCE_KEYS = new Set([
  "Type",
  "Properties",
  "DependsOn",
  "Condition",
  "DeletionPolicy",
  "UpdateReplacePolicy",
  "CreationPolicy",
  "UpdatePolicy",
  "Metadata",
]);
const OUTPUT_KEYS = new Set(["Description", "Value", "Export", "Condition"]);
/** The built-in `Tag` type of the specification: a list element `{ Key, Value }`. */
const TAG: SpecShape = {
  name: "Tag",
  properties: {
    Key: { required: true, type: { type: "string" } },
    Value: { required: true, type: { type: "string" } },
  },
};

const Sections = v.looseObject({
  Parameters: v.optional(v.record(v.string(), v.unknown())),
  Conditions: v.optional(v.record(v.string(), v.unknown())),
  Resources: v.record(v.string(), v.record(v.string(), v.unknown())),
  Outputs: v.optional(v.record(v.string(), v.record(v.string(), v.unknown()))),
});
type Sections = v.InferOutput<typeof Sections>;

type JsonObject = Record<string, unknown>;
function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
/** `{ Ref: … }` or `{ "Fn::…": … }`: a value CloudFormation computes, whose shape is not checked here. */
function isIntrinsic(value: unknown): boolean {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === "Ref" || keys[0]!.startsWith("Fn::"));
}
function isCustomResource(type: string): boolean {
  return type.startsWith("Custom::") || type === "AWS::CloudFormation::CustomResource";
}

/** Every problem in `template` (an object as parsed from the template's JSON); an empty list when none. */
export function checkTemplate(template: unknown, spec: ResourceSpec): TemplateProblem[] {
  const parsed = v.safeParse(Sections, template);
  if (!parsed.success) {
    return parsed.issues.map((issue) => ({ path: v.getDotPath(issue) ?? "", message: issue.message }));
  }
  return new TemplateChecker(parsed.output, spec).check();
}

class TemplateChecker {
  private readonly problems: TemplateProblem[] = [];

  constructor(
    private readonly template: Sections,
    private readonly spec: ResourceSpec,
  ) {}

  check(): TemplateProblem[] {
    for (const [name, resource] of Object.entries(this.template.Resources)) {
      this.checkResource(`Resources.${name}`, resource);
    }
    for (const [name, condition] of Object.entries(this.template.Conditions ?? {})) {
      this.checkReferences(`Conditions.${name}`, condition);
    }
    for (const [name, output] of Object.entries(this.template.Outputs ?? {})) {
      const path = `Outputs.${name}`;
      for (const key of Object.keys(output)) {
        if (!OUTPUT_KEYS.has(key)) this.report(`${path}.${key}`, `an output has no ${key}`);
      }
      if (!("Value" in output)) this.report(path, "an output needs a Value");
      this.checkCondition(`${path}.Condition`, output.Condition);
      this.checkReferences(`${path}.Value`, output.Value);
      this.checkReferences(`${path}.Export`, output.Export);
    }
    return this.problems;
  }

  private report(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  private checkResource(path: string, resource: JsonObject): void {
    for (const key of Object.keys(resource)) {
      if (!RESOURCE_KEYS.has(key)) this.report(`${path}.${key}`, `a resource has no ${key}`);
    }
    for (const [i, name] of [resource.DependsOn ?? []].flat().entries()) {
      const where = Array.isArray(resource.DependsOn) ? `${path}.DependsOn[${i}]` : `${path}.DependsOn`;
      if (typeof name !== "string" || !Object.hasOwn(this.template.Resources, name)) {
        this.report(where, `DependsOn ${String(name)}: no resource of that name`);
      }
    }
    this.checkCondition(`${path}.Condition`, resource.Condition);
    this.checkReferences(`${path}.Properties`, resource.Properties);

    const type = resource.Type;
    if (typeof type !== "string") {
      this.report(`${path}.Type`, "a resource needs a Type (a string)");
      return;
    }
    if (isCustomResource(type)) return;
    const spec = this.spec.resource(type);
    if (!spec) {
      this.report(`${path}.Type`, `unknown resource type ${type}`);
      return;
    }
    const properties = resource.Properties ?? {};
    if (!isObject(properties)) {
      this.report(`${path}.Properties`, "Properties must be an object");
      return;
    }
    this.problems.push(...this.shapeProblems(properties, spec, type, type, `${path}.Properties`));
  }

  /** Unknown and missing required properties of `value` (an object) as the type `shape`, nested ones too. */
  private shapeProblems(
    value: JsonObject,
    shape: SpecShape,
    owner: string,
    resourceType: string,
    path: string,
  ): TemplateProblem[] {
    const problems: TemplateProblem[] = [];
    for (const [key, property] of Object.entries(value)) {
      const spec = Object.hasOwn(shape.properties, key) ? shape.properties[key] : undefined;
      if (!spec) {
        problems.push({ path: `${path}.${key}`, message: `${owner} has no property ${key}` });
        continue;
      }
      const types = [spec.type, ...(spec.previousTypes ?? [])];
      problems.push(...this.valueProblems(property, types, resourceType, `${path}.${key}`));
    }
    for (const [name, spec] of Object.entries(shape.properties)) {
      if (spec.required && !Object.hasOwn(value, name)) {
        problems.push({ path, message: `${owner} requires ${name}` });
      }
    }
    return problems;
  }

  /**
   * The problems of `value` as any of `types`: none when one type fits. Only names are checked (property
   * names, required ones); a primitive's type, or an object where the specification wants a string, is
   * left to CloudFormation. A computed value (`Ref`, `Fn::…`) fits any type, and so does anything where
   * the only type of its kind is JSON (a policy document). Where the specification offers a structure
   * besides JSON (`KeySchema`: a list of `KeySchema` or JSON), the value is held to the structure.
   */
  private valueProblems(
    value: unknown,
    types: readonly SpecType[],
    resourceType: string,
    path: string,
  ): TemplateProblem[] {
    if (isIntrinsic(value)) return [];
    const alternatives = types.flatMap(function flatten(t: SpecType): SpecType[] {
      return t.type === "union" ? (t.types ?? []).flatMap(flatten) : [t];
    });
    const candidates: TemplateProblem[][] = [];
    for (const type of alternatives) {
      if (Array.isArray(value) && type.type === "array" && type.element) {
        const element = type.element;
        candidates.push(
          value.flatMap((item, i) => this.valueProblems(item, [element], resourceType, `${path}[${i}]`)),
        );
      } else if (isObject(value) && type.type === "map" && type.element) {
        const element = type.element;
        candidates.push(
          Object.entries(value).flatMap(([key, item]) =>
            this.valueProblems(item, [element], resourceType, `${path}.${key}`),
          ),
        );
      } else if (isObject(value) && type.type === "tag") {
        candidates.push(this.shapeProblems(value, TAG, "Tag", resourceType, path));
      } else if (isObject(value) && type.type === "ref" && type.reference) {
        const definition = this.spec.typeDefinition(type.reference.$ref);
        const owner = `${resourceType}.${definition.name}`;
        candidates.push(this.shapeProblems(value, definition, owner, resourceType, path));
      }
    }
    if (candidates.length === 0) return [];
    return candidates.reduce((best, next) => (next.length < best.length ? next : best));
  }

  private checkCondition(path: string, name: unknown): void {
    if (name === undefined) return;
    if (typeof name !== "string" || !Object.hasOwn(this.template.Conditions ?? {}, name)) {
      this.report(path, `Condition ${String(name)}: no condition of that name`);
    }
  }

  /** Every `Ref`, `Fn::GetAtt`, `Fn::Sub` reference and `Fn::If` condition inside `value`. */
  private checkReferences(path: string, value: unknown): void {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        this.checkReferences(`${path}[${i}]`, item);
      });
      return;
    }
    if (!isObject(value)) return;
    const keys = Object.keys(value);
    const intrinsic = keys.length === 1 ? keys[0] : undefined;
    const argument = intrinsic === undefined ? undefined : value[intrinsic];
    if (intrinsic === "Ref") {
      const problem = typeof argument === "string" ? this.refProblem(argument) : "the name must be a string";
      if (problem) this.report(`${path}.Ref`, `Ref ${String(argument)}: ${problem}`);
      return;
    }
    if (intrinsic === "Fn::GetAtt") {
      this.checkGetAtt(`${path}.Fn::GetAtt`, argument);
      return;
    }
    if (intrinsic === "Fn::Sub") {
      this.checkSub(`${path}.Fn::Sub`, argument);
      return;
    }
    if (intrinsic === "Fn::If" && Array.isArray(argument)) {
      const [condition, ...branches] = argument;
      if (typeof condition !== "string" || !Object.hasOwn(this.template.Conditions ?? {}, condition)) {
        this.report(`${path}.Fn::If[0]`, `Fn::If ${String(condition)}: no condition of that name`);
      }
      branches.forEach((branch, i) => {
        this.checkReferences(`${path}.Fn::If[${i + 1}]`, branch);
      });
      return;
    }
    for (const [key, item] of Object.entries(value)) this.checkReferences(`${path}.${key}`, item);
  }

  private checkGetAtt(path: string, argument: unknown): void {
    const dot = typeof argument === "string" ? argument.indexOf(".") : -1;
    const [name, attribute] =
      typeof argument === "string"
        ? dot > 0
          ? [argument.slice(0, dot), argument.slice(dot + 1)]
          : []
        : Array.isArray(argument)
          ? argument
          : [];
    if (typeof name !== "string" || name === "" || attribute === undefined) {
      this.report(path, "Fn::GetAtt takes [resource, attribute] or 'resource.attribute'");
      return;
    }
    // An attribute may itself be computed ({ Ref: SomeParameter }): only the resource is checked then.
    this.checkReferences(`${path}[1]`, attribute);
    const problem =
      typeof attribute === "string" ? this.getAttProblem(name, attribute) : this.getAttProblem(name);
    if (problem) this.report(path, `Fn::GetAtt ${name}.${String(attribute)}: ${problem}`);
  }

  private checkSub(path: string, argument: unknown): void {
    const [text, variables] = Array.isArray(argument) ? argument : [argument, {}];
    if (typeof text !== "string" || !isObject(variables)) {
      this.report(path, "Fn::Sub takes a string or [string, { variables }]");
      return;
    }
    if (Array.isArray(argument)) this.checkReferences(`${path}[1]`, variables);
    // `${!Literal}` is written out as `${Literal}`, not substituted.
    for (const [, expression = ""] of text.matchAll(/\$\{(?!!)([^}]*)\}/g)) {
      const name = expression.trim();
      if (Object.hasOwn(variables, name)) continue;
      const dot = name.indexOf(".");
      const problem =
        dot < 0 ? this.refProblem(name) : this.getAttProblem(name.slice(0, dot), name.slice(dot + 1));
      if (problem) this.report(path, `Fn::Sub \${${name}}: ${problem}`);
    }
  }

  /** Why `Ref name` resolves to nothing, or undefined when it names a resource or (pseudo) parameter. */
  private refProblem(name: string): string | undefined {
    if (PSEUDO_PARAMETERS.has(name)) return undefined;
    if (Object.hasOwn(this.template.Resources, name)) return undefined;
    if (Object.hasOwn(this.template.Parameters ?? {}, name)) return undefined;
    return "no resource, parameter or pseudo parameter of that name";
  }

  /** Why `Fn::GetAtt name.attribute` resolves to nothing (attribute undefined: computed, not checked). */
  private getAttProblem(name: string, attribute?: string): string | undefined {
    const resource = Object.hasOwn(this.template.Resources, name) ? this.template.Resources[name] : undefined;
    if (!resource) return "no resource of that name";
    const type = resource.Type;
    if (attribute === undefined || typeof type !== "string" || isCustomResource(type)) return undefined;
    // An unknown type is reported once, at its Type.
    const spec = this.spec.resource(type);
    if (!spec || Object.hasOwn(spec.attributes, attribute)) return undefined;
    const known = Object.keys(spec.attributes);
    return `${type} has no attribute ${attribute} (it has ${known.length > 0 ? known.join(", ") : "none"})`;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2] ?? ".serverless/cloudformation-template-update-stack.json";
  const problems = checkTemplate(JSON.parse(readFileSync(file, "utf8")), await loadResourceSpec());
  for (const { path, message } of problems) console.error(`${path}: ${message}`);
  console.log(problems.length === 0 ? `${file}: no problems` : `${file}: ${problems.length} problem(s)`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}
