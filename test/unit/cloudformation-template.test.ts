import { readdirSync, readFileSync } from "node:fs";
import * as v from "valibot";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  checkTemplate,
  loadResourceSpec,
  type ResourceSpec,
  type TemplateProblem,
} from "../../infra/tools/template-check.ts";
import { packagedTemplate } from "../helpers/packaged-template.ts";

/**
 * The template `serverless package` compiles (serverless.yml, infra/*.yml, the plugins) against the
 * CloudFormation resource specification: a typo there fails here, not in a deploy. Every stage with a
 * configuration file is packaged; config/sandbox.json is the local stage's, never deployed.
 */
const STAGES = readdirSync("config")
  .filter((file) => file.endsWith(".json") && file !== "sandbox.json")
  .map((file) => file.slice(0, -".json".length));

const Template = v.looseObject({
  Resources: v.record(
    v.string(),
    v.looseObject({
      Type: v.string(),
      Properties: v.optional(v.record(v.string(), v.unknown()), {}),
      DependsOn: v.optional(v.union([v.string(), v.array(v.string())])),
    }),
  ),
  Outputs: v.record(v.string(), v.looseObject({ Value: v.optional(v.unknown()) })),
});
type Template = v.InferOutput<typeof Template>;
const InfraFile = v.looseObject({ Resources: v.record(v.string(), v.looseObject({ Type: v.string() })) });
const ServiceFile = v.looseObject({ functions: v.record(v.string(), v.unknown()) });

let spec: ResourceSpec;
const templates = new Map<string, unknown>();

beforeAll(async () => {
  // The stages one after another (each osls takes ~300 MB), beside the specification's load.
  const loading = loadResourceSpec();
  for (const stage of STAGES) templates.set(stage, await packagedTemplate(stage));
  spec = await loading;
}, 180_000);

/** A copy of the prod template to break. */
function prodTemplate(): Template {
  return v.parse(Template, structuredClone(templates.get("prod")));
}

/**
 * The problems `checkTemplate` reports for `template` beyond those of the unbroken prod template, so a
 * real problem fails the test above once instead of every test below.
 */
function problemsAdded(template: Template): TemplateProblem[] {
  const before = new Set(checkTemplate(templates.get("prod"), spec).map((p) => JSON.stringify(p)));
  return checkTemplate(template, spec).filter((p) => !before.has(JSON.stringify(p)));
}

/** The first resource of `type` (by type, not name: the names are serverless.yml's and infra's to change). */
function firstOfType(template: Template, type: string): [string, Template["Resources"][string]] {
  const found = Object.entries(template.Resources).find(([, resource]) => resource.Type === type);
  if (!found) throw new Error(`the template has no ${type}`);
  return found;
}

describe("the packaged CloudFormation template", () => {
  it("is packaged for the deployed stages", () => {
    expect(STAGES).toEqual(expect.arrayContaining(["dev", "prod"]));
  });

  it.each(STAGES)("has no unknown type or property and no dangling reference (stage %s)", (stage) => {
    expect(checkTemplate(templates.get(stage), spec)).toEqual([]);
  });

  it("holds every resource of infra/*.yml and a Lambda function per function of serverless.yml", () => {
    const template = prodTemplate();
    for (const file of readdirSync("infra").filter((name) => name.endsWith(".yml"))) {
      const { Resources } = v.parse(InfraFile, parse(readFileSync(`infra/${file}`, "utf8")));
      for (const [name, resource] of Object.entries(Resources)) {
        expect(template.Resources[name]?.Type, `${file}: ${name}`).toBe(resource.Type);
      }
    }
    const service = v.parse(ServiceFile, parse(readFileSync("serverless.yml", "utf8")));
    const functions = Object.values(template.Resources).filter((r) => r.Type === "AWS::Lambda::Function");
    expect(functions).toHaveLength(Object.keys(service.functions).length);
  });
});

describe("the template check", () => {
  it("reports a misspelt property of a queue", () => {
    const template = prodTemplate();
    const [name, queue] = firstOfType(template, "AWS::SQS::Queue");
    expect(queue.Properties).toHaveProperty("QueueName");
    queue.Properties.QueueNmae = queue.Properties.QueueName;
    delete queue.Properties.QueueName;
    expect(problemsAdded(template)).toEqual([
      {
        path: `Resources.${name}.Properties.QueueNmae`,
        message: "AWS::SQS::Queue has no property QueueNmae",
      },
    ]);
  });

  it("reports a misspelt property of a nested property type, and the required one it lacks", () => {
    const template = prodTemplate();
    const [name, table] = firstOfType(template, "AWS::DynamoDB::Table");
    const keySchema = v.parse(v.array(v.record(v.string(), v.unknown())), table.Properties.KeySchema);
    keySchema[0]!.KeyTyp = keySchema[0]!.KeyType;
    delete keySchema[0]!.KeyType;
    table.Properties.KeySchema = keySchema;
    const path = `Resources.${name}.Properties.KeySchema[0]`;
    expect(problemsAdded(template)).toEqual([
      { path: `${path}.KeyTyp`, message: "AWS::DynamoDB::Table.KeySchema has no property KeyTyp" },
      { path, message: "AWS::DynamoDB::Table.KeySchema requires KeyType" },
    ]);
  });

  it("reports a missing required property", () => {
    const template = prodTemplate();
    const [name, permission] = firstOfType(template, "AWS::Lambda::Permission");
    delete permission.Properties.Principal;
    expect(problemsAdded(template)).toEqual([
      { path: `Resources.${name}.Properties`, message: "AWS::Lambda::Permission requires Principal" },
    ]);
  });

  it("reports an unknown resource type, and a misspelt resource key", () => {
    const template = prodTemplate();
    const [queueName, queue] = firstOfType(template, "AWS::SQS::Queue");
    queue.Type = "AWS::SQS::Queu";
    const [topicName, topic] = firstOfType(template, "AWS::SNS::Topic");
    topic.Propertes = topic.Properties;
    Reflect.deleteProperty(topic, "Properties");
    expect(problemsAdded(template)).toEqual([
      { path: `Resources.${queueName}.Type`, message: "unknown resource type AWS::SQS::Queu" },
      { path: `Resources.${topicName}.Propertes`, message: "a resource has no Propertes" },
    ]);
  });

  it("reports a Ref to a missing resource, in a resource and in an output", () => {
    const template = prodTemplate();
    const [name, fn] = firstOfType(template, "AWS::Lambda::Function");
    fn.Properties.Environment = { Variables: { LINKS_TABLE: { Ref: "NoSuchTable" } } };
    const [output] = Object.keys(template.Outputs);
    template.Outputs[output!]!.Value = { "Fn::Join": ["", [{ Ref: "AWS::Region" }, { Ref: "NoSuchQueue" }]] };
    expect(problemsAdded(template)).toEqual([
      {
        path: `Resources.${name}.Properties.Environment.Variables.LINKS_TABLE.Ref`,
        message: "Ref NoSuchTable: no resource, parameter or pseudo parameter of that name",
      },
      {
        path: `Outputs.${output}.Value.Fn::Join[1][1].Ref`,
        message: "Ref NoSuchQueue: no resource, parameter or pseudo parameter of that name",
      },
    ]);
  });

  it("reports a GetAtt of an attribute the type lacks, and of a missing resource", () => {
    const template = prodTemplate();
    const [queueName] = firstOfType(template, "AWS::SQS::Queue");
    const [mappingName, mapping] = firstOfType(template, "AWS::Lambda::EventSourceMapping");
    mapping.Properties.EventSourceArn = { "Fn::GetAtt": [queueName, "Url"] };
    const [permissionName, permission] = firstOfType(template, "AWS::Lambda::Permission");
    permission.Properties.FunctionName = { "Fn::GetAtt": "NoSuchFunction.Arn" };
    expect(problemsAdded(template)).toEqual([
      {
        path: `Resources.${permissionName}.Properties.FunctionName.Fn::GetAtt`,
        message: "Fn::GetAtt NoSuchFunction.Arn: no resource of that name",
      },
      {
        path: `Resources.${mappingName}.Properties.EventSourceArn.Fn::GetAtt`,
        message: `Fn::GetAtt ${queueName}.Url: AWS::SQS::Queue has no attribute Url (it has Arn, QueueName, QueueUrl)`,
      },
    ]);
  });

  it("reports what a Sub names that does not exist, and takes its variables and escaped literals", () => {
    const template = prodTemplate();
    const [queueName] = firstOfType(template, "AWS::SQS::Queue");
    const [roleName, role] = firstOfType(template, "AWS::IAM::Role");
    role.Properties.ManagedPolicyArns = [
      {
        "Fn::Sub": [
          `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:policy/\${NoSuchPolicy}/\${${queueName}.Arnn}/\${Own}/\${!Literal}`,
          { Own: { Ref: "NoSuchParameter" } },
        ],
      },
    ];
    const path = `Resources.${roleName}.Properties.ManagedPolicyArns[0].Fn::Sub`;
    expect(problemsAdded(template)).toEqual([
      {
        path: `${path}[1].Own.Ref`,
        message: "Ref NoSuchParameter: no resource, parameter or pseudo parameter of that name",
      },
      {
        path,
        message: `Fn::Sub \${NoSuchPolicy}: no resource, parameter or pseudo parameter of that name`,
      },
      {
        path,
        message: `Fn::Sub \${${queueName}.Arnn}: AWS::SQS::Queue has no attribute Arnn (it has Arn, QueueName, QueueUrl)`,
      },
    ]);
  });

  it("reports a DependsOn naming a missing resource", () => {
    const template = prodTemplate();
    const [name, fn] = firstOfType(template, "AWS::Lambda::Function");
    const dependsOn = [fn.DependsOn ?? []].flat();
    fn.DependsOn = [...dependsOn, "NoSuchLogGroup"];
    expect(problemsAdded(template)).toEqual([
      {
        path: `Resources.${name}.DependsOn[${dependsOn.length}]`,
        message: "DependsOn NoSuchLogGroup: no resource of that name",
      },
    ]);
  });

  it("reports an output without a Value, and a condition the template does not define", () => {
    const template = prodTemplate();
    template.Conditions = { InUsEast1: { "Fn::Equals": [{ Ref: "AWS::Region" }, "us-east-1"] } };
    const [name, topic] = firstOfType(template, "AWS::SNS::Topic");
    topic.Condition = "InUsEast";
    template.Outputs.Misspelt = { Vaule: "x" };
    template.Outputs.Conditional = {
      Condition: "InUsEast1",
      Value: { "Fn::If": ["InUsEast", "yes", { Ref: "AWS::NoValue" }] },
    };
    expect(problemsAdded(template)).toEqual([
      { path: `Resources.${name}.Condition`, message: "Condition InUsEast: no condition of that name" },
      { path: "Outputs.Misspelt.Vaule", message: "an output has no Vaule" },
      { path: "Outputs.Misspelt", message: "an output needs a Value" },
      { path: "Outputs.Conditional.Value.Fn::If[0]", message: "Fn::If InUsEast: no condition of that name" },
    ]);
  });
});
