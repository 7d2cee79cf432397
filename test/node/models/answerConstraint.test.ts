import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { ConfigError, parseConfig } from "../../../src/node/config.js";
import {
  type AnswerConstraint,
  answerConstraintSchema,
  normalizeAnswer,
} from "../../../src/node/models/answerConstraint.js";
import { MAX_ANSWER_DEPTH } from "../../../src/node/models/jsonAnswer.js";

/** A constraint as the node reads it from its config file: parsed from JSON text, then validated. */
const constraintFrom = (json: string): AnswerConstraint => answerConstraintSchema.parse(JSON.parse(json));

function output(constraint: AnswerConstraint, text: string): string {
  const normalized = normalizeAnswer(constraint, text);
  assert.ok(
    normalized.ok,
    `expected ${JSON.stringify(text)} to fit, got: ${!normalized.ok && normalized.reason}`,
  );
  return normalized.output;
}

function reason(constraint: AnswerConstraint, text: string): string {
  const normalized = normalizeAnswer(constraint, text);
  assert.ok(!normalized.ok, `expected ${JSON.stringify(text)} not to fit, got ${JSON.stringify(normalized)}`);
  return normalized.reason;
}

/** The issues a bad constraint gets, each as `path: message`. */
function configIssues(constraint: unknown): string[] {
  const result = answerConstraintSchema.safeParse(constraint);
  assert.ok(!result.success, `expected ${JSON.stringify(constraint)} to be rejected`);
  return result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
}

describe("answer constraint: labels", () => {
  const sentiment = constraintFrom('{"kind":"labels","labels":["Positive","negative","Neutral"]}');

  it("answers the label as written in the config, whatever the case, spacing and trailing punctuation", () => {
    for (const text of [
      "Positive",
      "positive",
      "  POSITIVE.  ",
      "positive!!",
      "Positive…",
      "\npositive ?\n",
    ]) {
      assert.equal(output(sentiment, text), "Positive");
    }
    assert.equal(output(sentiment, "NEGATIVE."), "negative");
    assert.equal(output(sentiment, "neutral"), "Neutral");
  });

  it("compares Unicode text in one normal form", () => {
    const labels = constraintFrom('{"kind":"labels","labels":["Café","Thé"]}');
    // "CAFE" + combining acute accent: the same word in decomposed form.
    assert.equal(output(labels, "CAFE\u0301."), "Café");
  });

  it("refuses answers that are more than one label, or a label inside other words", () => {
    for (const text of [
      "Positive, but negative",
      "positive\n\nnegative",
      "positive negative",
      "not positive",
      "**Positive**",
      "The answer is positive.",
      ".positive",
      "",
      "   ",
      "positives",
    ]) {
      assert.equal(reason(sentiment, text), "the answer is not one of the labels");
    }
  });

  it("rejects label sets that cannot be told apart, naming the label", () => {
    assert.deepEqual(configIssues({ kind: "labels", labels: [] }), ["labels: list at least one label"]);
    const [same] = configIssues({ kind: "labels", labels: ["Positive", "negative", " positive."] });
    assert.match(same ?? "", /^labels\.2: label " positive\." matches label 0 \("Positive"\)/);
    const [empty] = configIssues({ kind: "labels", labels: ["yes", "?!"] });
    assert.match(empty ?? "", /^labels\.1: label "\?!" is empty/);
    assert.match(configIssues({ kind: "labels", labels: ["a"], label: "b" })[0] ?? "", /label/);
    assert.match(configIssues({ kind: "label", labels: ["a"] })[0] ?? "", /^kind: /);
  });
});

describe("answer constraint: yes-no", () => {
  const yesNo = constraintFrom('{"kind":"yes-no"}');

  it("reads yes/no/true/false/y/n in any case with trailing punctuation", () => {
    for (const text of ["yes", "Yes.", "YES!", " y ", "True", "true.", "Y?"])
      assert.equal(output(yesNo, text), "yes");
    for (const text of ["no", "No.", "NO!!", "n", "False", "false…", "\tN\n"])
      assert.equal(output(yesNo, text), "no");
  });

  it("refuses answers that say both, hedge, or say something else", () => {
    for (const text of [
      "Yes, but no",
      "yes\n\nno",
      "yes no",
      "Yes. No.",
      "no, yes",
      "yeah",
      "nope",
      "maybe",
      "1",
      "0",
      "Yes and no",
      "",
      "Absolutely yes",
    ]) {
      assert.equal(reason(yesNo, text), "the answer is not yes or no");
    }
  });

  it("takes no other settings", () => {
    assert.equal(configIssues({ kind: "yes-no", labels: ["yes"] }).length, 1);
  });
});

describe("answer constraint: number", () => {
  const score = constraintFrom('{"kind":"number","min":-100,"max":1000,"decimals":2}');

  it("reads the first number and writes it with exactly `decimals` decimals", () => {
    const cases: [string, string][] = [
      ["42", "42.00"],
      ["  42.5 degrees", "42.50"],
      ["The answer is 3.", "3.00"],
      ["about 7 out of 10", "7.00"],
      ["1e3", "1000.00"],
      ["1E+3", "1000.00"],
      ["2.5e-1", "0.25"],
      [".5", "0.50"],
      ["+7", "7.00"],
      ["\u22125", "-5.00"],
      ["x = -12.345", "-12.35"],
      ["0042.10", "42.10"],
      ["42%", "42.00"],
      ["$1000", "1000.00"],
    ];
    for (const [text, expected] of cases) assert.equal(output(score, text), expected, text);
  });

  it("rounds the exact decimal half away from zero, and never writes -0", () => {
    const cases: [string, string][] = [
      // As doubles these are 2.67499…, 1.00499… and 0.12500…: float rounding would differ here.
      ["2.675", "2.68"],
      ["-1.005", "-1.01"],
      ["0.125", "0.13"],
      ["0.124999999999999999999999", "0.12"],
      ["-0.005", "-0.01"],
      ["-0.0", "0.00"],
      ["-0", "0.00"],
      ["-0.001", "0.00"],
      ["-0.0049", "0.00"],
      ["1e-999999999", "0.00"],
      ["-1e-999999999", "0.00"],
    ];
    for (const [text, expected] of cases) assert.equal(output(score, text), expected, text);

    const whole = constraintFrom('{"kind":"number","min":-10,"max":10,"decimals":0}');
    assert.equal(output(whole, "2.5"), "3");
    assert.equal(output(whole, "-2.5"), "-3");
    assert.equal(output(whole, "-0.4"), "0");
    assert.equal(output(whole, "0.49999"), "0");
  });

  it("writes large and fine values without an exponent", () => {
    const large = constraintFrom('{"kind":"number","min":0,"max":1e21,"decimals":0}');
    assert.equal(output(large, "1e21"), "1000000000000000000000");
    const fine = constraintFrom('{"kind":"number","min":0,"max":1,"decimals":18}');
    assert.equal(output(fine, "1e-7"), "0.000000100000000000");
    assert.equal(output(fine, "0.0000000000000000005"), "0.000000000000000001");
  });

  it("checks the range on the number as written", () => {
    assert.equal(output(score, "1000"), "1000.00");
    assert.equal(output(score, "-100"), "-100.00");
    assert.equal(output(score, "999.996"), "1000.00");
    assert.equal(reason(score, "1000.004"), "the number is above the maximum 1000");
    assert.equal(reason(score, "-100.0001"), "the number is below the minimum -100");
    assert.equal(reason(score, "1e4"), "the number is above the maximum 1000");
    assert.equal(reason(score, "1e999999999"), "the number is above the maximum 1000");
    assert.equal(reason(score, `1${"0".repeat(500)}`), "the number is above the maximum 1000");
    assert.equal(reason(score, "-1e400"), "the number is below the minimum -100");
  });

  it("refuses a number it cannot read with certainty", () => {
    for (const text of [
      "1,000",
      "1 000",
      "1\u202f000",
      "1'000",
      "4 5",
      "1.2.3",
      "12k",
      "0x1F",
      "A4 paper",
      "COVID-19 cases: 40",
      "v2",
      "--5",
      "3,5",
      "5e",
    ]) {
      assert.match(reason(score, text), /glued/, text);
    }
    for (const text of ["no idea", "forty-two", "", "."])
      assert.equal(reason(score, text), "the answer holds no number");
    assert.match(reason(score, `0.${"1".repeat(101)}`), /more than 100 significant digits/);
  });

  it("reads a number behind a long run of whitespace", () => {
    assert.equal(output(score, `${" ".repeat(200_000)}5`), "5.00");
  });

  it("rejects ranges that cannot hold, and bounds off the output grid, naming the field", () => {
    assert.deepEqual(configIssues({ kind: "number", min: 5, max: 1, decimals: 0 }), [
      "max: max 1 is below min 5",
    ]);
    const [offGrid] = configIssues({ kind: "number", min: 0.25, max: 1, decimals: 1 });
    assert.match(offGrid ?? "", /^min: min 0\.25 has more than 1 decimals/);
    assert.match(configIssues({ kind: "number", min: 0, max: 1, decimals: 19 })[0] ?? "", /^decimals: /);
    assert.match(configIssues({ kind: "number", min: 0, max: 1, decimals: 1.5 })[0] ?? "", /^decimals: /);
    assert.match(configIssues({ kind: "number", min: 0, decimals: 1 })[0] ?? "", /^max: /);
  });
});

describe("answer constraint: json", () => {
  const verdict = constraintFrom(
    JSON.stringify({
      kind: "json",
      schema: {
        type: "object",
        properties: {
          label: { enum: ["yes", "no"] },
          score: { type: "integer", minimum: 0, maximum: 10 },
          tags: { type: "array", items: { type: "string" } },
        },
        required: ["label", "score"],
        additionalProperties: false,
      },
    }),
  );
  const canonical = '{"label":"yes","score":7}';

  it("answers canonical JSON whatever the layout, key order or fence", () => {
    for (const text of [
      '{"label":"yes","score":7}',
      '{ "score": 7,\n  "label": "yes" }',
      '```json\n{"score": 7, "label": "yes"}\n```',
      '```JSON\n{"score": 7, "label": "yes"}\n```',
      '```\n{"score": 7.0, "label": "yes"}\n```',
      '  ```json {"label":"yes","score":7}```  ',
    ]) {
      assert.equal(output(verdict, text), canonical, text);
    }
    assert.equal(
      output(verdict, '{"tags":["b","a"],"score":0,"label":"no"}'),
      '{"label":"no","score":0,"tags":["b","a"]}',
    );
  });

  it("refuses text around the JSON and fences that are not JSON's", () => {
    assert.equal(reason(verdict, 'Here you go: {"label":"yes","score":7}'), "the answer is not JSON");
    assert.equal(reason(verdict, '```python\n{"label":"yes","score":7}\n```'), "the answer is not JSON");
    assert.equal(
      reason(verdict, '```json\n{"label":"yes","score":7}'),
      "the answer has an unclosed code fence",
    );
    assert.equal(
      reason(verdict, '```json\n{"label":"yes"}\n```\n```json\n{"label":"no"}\n```'),
      "the answer is not JSON",
    );
  });

  it("refuses answers the schema does not allow, naming only what the schema names", () => {
    const cases: [string, RegExp][] = [
      ['{"label":"yes"}', /^\$ lacks the required property "score"$/],
      ['{"label":"maybe","score":7}', /^\$\.label is not one of the schema's enum values$/],
      ['{"label":"yes","score":7.5}', /^\$\.score is not of type integer$/],
      ['{"label":"yes","score":"7"}', /^\$\.score is not of type integer$/],
      ['{"label":"yes","score":11}', /^\$\.score is above the maximum 10$/],
      ['{"label":"yes","score":-1}', /^\$\.score is below the minimum 0$/],
      ['{"label":"yes","score":7,"tags":["a",1]}', /^\$\.tags\[1\] is not of type string$/],
      ['[{"label":"yes","score":7}]', /^\$ is not of type object$/],
      ['{"label":"yes","score":1e400}', /number too large for JSON/],
    ];
    for (const [text, expected] of cases) assert.match(reason(verdict, text), expected, text);
  });

  it("refuses extra keys, prototype names included, under additionalProperties: false", () => {
    for (const key of ["note", "__proto__", "toString", "constructor", "hasOwnProperty"]) {
      const text = `{"label":"yes","score":7,${JSON.stringify(key)}:{"secret-words":1}}`;
      const why = reason(verdict, text);
      assert.equal(why, "$ has a property the schema does not list", key);
      assert.ok(!why.includes(key) && !why.includes("secret-words"), "the reason quotes no answer text");
    }
    assert.equal(({} as Record<string, unknown>)["secret-words"], undefined);
  });

  it("keeps a __proto__ key as plain data when extra keys are allowed", () => {
    const open = constraintFrom('{"kind":"json","schema":{"type":"object","required":["a"]}}');
    const text = '{"a":1,"__proto__":{"polluted":true}}';
    assert.equal(output(open, text), '{"__proto__":{"polluted":true},"a":1}');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(reason(open, '{"constructor":1}'), '$ lacks the required property "a"');
  });

  it("checks a property a config schema names __proto__ as a property, not a prototype", () => {
    const schema = constraintFrom(
      '{"kind":"json","schema":{"type":"object","properties":{"__proto__":{"type":"string"}},"additionalProperties":false}}',
    );
    assert.equal(output(schema, '{"__proto__":"x"}'), '{"__proto__":"x"}');
    assert.equal(reason(schema, '{"__proto__":5}'), "$.__proto__ is not of type string");
    assert.equal(reason(schema, '{"other":"x"}'), "$ has a property the schema does not list");
  });

  it("refuses answers nested past the depth limit", () => {
    const open = constraintFrom('{"kind":"json","schema":{"type":"array"}}');
    const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
    assert.equal(output(open, nested(MAX_ANSWER_DEPTH)), nested(MAX_ANSWER_DEPTH));
    assert.match(reason(open, nested(MAX_ANSWER_DEPTH + 1)), /nested deeper than 64 levels/);
    assert.match(reason(open, nested(100_000)), /nested deeper|not JSON/);
  });

  it("compares enum members as JSON values", () => {
    const points = constraintFrom('{"kind":"json","schema":{"enum":[{"x":1,"y":2},[1,2],null]}}');
    assert.equal(output(points, '{"y":2.0,"x":1}'), '{"x":1,"y":2}');
    assert.equal(output(points, "null"), "null");
    assert.match(reason(points, '{"x":1}'), /enum/);
    assert.match(reason(points, "[2,1]"), /enum/);
  });

  it("rejects schemas with keywords it does not implement, naming each", () => {
    const issues = configIssues({
      kind: "json",
      schema: {
        type: "object",
        properties: { name: { type: "string", pattern: "^a" }, list: { items: { format: "email" } } },
        $schema: "https://json-schema.org/draft/2020-12/schema",
      },
    });
    assert.deepEqual(issues.sort(), [
      'schema.$schema: unsupported JSON Schema keyword "$schema" (supported: type, properties, required, additionalProperties, enum, items, minimum, maximum)',
      'schema.properties.list.items.format: unsupported JSON Schema keyword "format" (supported: type, properties, required, additionalProperties, enum, items, minimum, maximum)',
      'schema.properties.name.pattern: unsupported JSON Schema keyword "pattern" (supported: type, properties, required, additionalProperties, enum, items, minimum, maximum)',
    ]);
  });

  it("rejects malformed keywords, naming the field", () => {
    const cases: [unknown, RegExp][] = [
      [{ type: "text" }, /^schema\.type: type must be one of/],
      [{ type: [] }, /^schema\.type: /],
      [{ type: ["string", "string"] }, /^schema\.type: /],
      [{ properties: [] }, /^schema\.properties: /],
      [{ properties: { a: "string" } }, /^schema\.properties\.a: a schema must be a JSON object/],
      [{ required: ["a", "a"] }, /^schema\.required: /],
      [{ required: "a" }, /^schema\.required: /],
      [{ additionalProperties: { type: "string" } }, /^schema\.additionalProperties: .*true or false/],
      [{ enum: [] }, /^schema\.enum: /],
      [{ items: [{ type: "string" }] }, /^schema\.items: a schema must be a JSON object/],
      [{ minimum: "0" }, /^schema\.minimum: /],
      [{ minimum: 5, maximum: 1 }, /^schema\.maximum: maximum 1 is below minimum 5/],
    ];
    for (const [schema, expected] of cases) {
      const [first] = configIssues({ kind: "json", schema });
      assert.match(first ?? "", expected, JSON.stringify(schema));
    }
    assert.match(configIssues({ kind: "json", schema: [] })[0] ?? "", /^schema: /);
    assert.match(configIssues({ kind: "json" })[0] ?? "", /^schema: /);
  });
});

describe("answer constraint in the node config", () => {
  const config = (answer: unknown) => ({
    chain: { rpcUrl: "http://127.0.0.1:8545", coordinator: "0x5FbDB2315678afecb367f032d93F642f64180aa3" },
    models: [{ provider: "openai", name: "gpt", model: "gpt-4o-mini", apiKeyEnv: null, answer }],
  });

  it("stops the node at start with one line naming the field", () => {
    const cases: [unknown, RegExp][] = [
      [
        { kind: "labels", labels: ["Yes", "yes"] },
        /^invalid config: models\.0\.answer\.labels\.1: label "yes" matches/,
      ],
      [{ kind: "number", min: 1, max: 0, decimals: 0 }, /^invalid config: models\.0\.answer\.max: /],
      [
        { kind: "json", schema: { type: "object", properties: { a: { oneOf: [] } } } },
        /^invalid config: models\.0\.answer\.schema\.properties\.a\.oneOf: unsupported JSON Schema keyword "oneOf"/,
      ],
    ];
    for (const [answer, expected] of cases) {
      assert.throws(
        () => parseConfig(config(answer)),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.shortMessage, expected);
          assert.ok(!error.shortMessage.includes("\n"), "one line");
          return true;
        },
      );
    }
  });

  it("refuses a constraint too large for a result's metadata", () => {
    const labels = Array.from({ length: 60 }, (_, index) => `label number ${index}`);
    assert.throws(
      () => parseConfig(config({ kind: "labels", labels })),
      /^ConfigError: invalid config: models\.0\.answer: the constraint is \d+ bytes as canonical JSON, over 512/,
    );
    assert.doesNotThrow(() => parseConfig(config({ kind: "labels", labels: labels.slice(0, 20) })));
  });

  it("keeps a valid constraint, a __proto__ property of its schema included", () => {
    const input = JSON.parse(
      JSON.stringify(config({ kind: "yes-no" })).replace(
        '{"kind":"yes-no"}',
        '{"kind":"json","schema":{"type":"object","properties":{"__proto__":{"type":"string"}}}}',
      ),
    );
    const [model] = parseConfig(input).models;
    assert.ok(model?.answer?.kind === "json");
    assert.deepEqual(Object.keys(model.answer.schema.properties ?? {}), ["__proto__"]);
  });
});
