package io.taskbatch.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.taskbatch.testing.CrdSchemaValidator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The committed CRD's schema accepts every example and rejects broken batches, as the API server would. */
class CrdSchemaTest {
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final Path CRD = Path.of("k8s", "crd", "taskbatches.taskbatch.io-v1.yml");
    private static final CrdSchemaValidator VALIDATOR = validator();
    private static final String MINIMAL = "{tasks: {items: [\"1\"]}, run: {builtin: square}}";

    /** A spec (flow YAML) that breaks one thing, and the start of the error that says so. */
    private static final String BROKEN = """
            # case                        | spec                                                                                  | expected error
            no task source                | {tasks: {}, run: {builtin: square}}                                                   | spec.tasks: Invalid value: "object": set exactly one of items, range, configMap, files
            two task sources              | {tasks: {items: ["1"], range: {from: 1, to: 2}}, run: {builtin: square}}              | spec.tasks: Invalid value: "object": set exactly one of items, range, configMap, files
            no tasks                      | {run: {builtin: square}}                                                              | spec.tasks: Required value
            no run                        | {tasks: {items: ["1"]}}                                                               | spec.run: Required value
            no executor                   | {tasks: {items: ["1"]}, run: {}}                                                      | spec.run: Invalid value: "object": set exactly one of builtin, command, processPool
            two executors                 | {tasks: {items: ["1"]}, run: {builtin: square, command: [cat]}}                       | spec.run: Invalid value: "object": set exactly one of builtin, command, processPool
            keepStderr with a builtin     | {tasks: {items: ["1"]}, run: {builtin: square, keepStderr: true}}                     | spec.run: Invalid value: "object": keepStderr and logStderr apply to command and processPool: a builtin has no stderr
            logStderr with a builtin      | {tasks: {items: ["1"]}, run: {builtin: echo, logStderr: true}}                        | spec.run: Invalid value: "object": keepStderr and logStderr apply to command and processPool: a builtin has no stderr
            string keepStderr             | {tasks: {items: ["1"]}, run: {command: [cat], keepStderr: "yes"}}                     | spec.run.keepStderr: Invalid value: "string": must be of type boolean
            run as a string               | {tasks: {items: ["1"]}, run: square}                                                  | spec.run: Invalid value: "string": must be of type object
            unknown spec field            | {tasks: {items: ["1"]}, run: {builtin: square}, bogus: 1}                             | spec.bogus: Unknown field
            misspelled retry field        | {tasks: {items: ["1"]}, run: {builtin: square}, retry: {maxAttempt: 3}}               | spec.retry.maxAttempt: Unknown field
            misspelled executor           | {tasks: {items: ["1"]}, run: {buitin: square}}                                        | spec.run.buitin: Unknown field
            misspelled secret name        | {tasks: {items: ["1"]}, run: {builtin: square}, broker: {secretRef: {nmae: rabbit}}}  | spec.broker.secretRef.nmae: Unknown field
            string maxReplicas            | {tasks: {items: ["1"]}, run: {builtin: square}, workers: {maxReplicas: "8"}}          | spec.workers.maxReplicas: Invalid value: "string": must be of type integer
            zero maxReplicas              | {tasks: {items: ["1"]}, run: {builtin: square}, workers: {maxReplicas: 0}}            | spec.workers.maxReplicas: Invalid value: 0: should be greater than or equal to 1
            zero weight                   | {tasks: {items: ["1"]}, run: {builtin: square}, workers: {weight: 0}}                 | spec.workers.weight: Invalid value: 0: should be greater than or equal to 1
            negative concurrency          | {tasks: {items: ["1"]}, run: {builtin: square}, workers: {concurrency: -1}}           | spec.workers.concurrency: Invalid value: -1: should be greater than or equal to 0
            negative prefetch             | {tasks: {items: ["1"]}, run: {builtin: square}, workers: {prefetch: -5}}              | spec.workers.prefetch: Invalid value: -5: should be greater than or equal to 0
            boolean replicas              | {tasks: {items: ["1"]}, run: {builtin: square}, workers: {replicas: true}}            | spec.workers.replicas: Invalid value: "boolean": must be of type integer or string
            non-string env value          | {tasks: {items: ["1"]}, run: {builtin: square}, workers: {env: {DEBUG: true}}}        | spec.workers.env.DEBUG: Invalid value: "boolean": must be of type string
            workers as a number           | {tasks: {items: ["1"]}, run: {builtin: square}, workers: 3}                           | spec.workers: Invalid value: "integer": must be of type object
            taskTimeout in words          | {tasks: {items: ["1"]}, run: {builtin: square}, taskTimeout: 10 minutes}              | spec.taskTimeout: Invalid value: "10 minutes": should match
            taskTimeout without unit      | {tasks: {items: ["1"]}, run: {builtin: square}, taskTimeout: 30}                      | spec.taskTimeout: Invalid value: "integer": must be of type string
            backoff in words              | {tasks: {items: ["1"]}, run: {builtin: square}, retry: {backoff: soon}}               | spec.retry.backoff: Invalid value: "soon": should match
            maxBackoff in days            | {tasks: {items: ["1"]}, run: {builtin: square}, retry: {maxBackoff: 1d}}              | spec.retry.maxBackoff: Invalid value: "1d": should match
            zero shards                   | {tasks: {items: ["1"]}, run: {builtin: square}, queues: {shards: 0}}                  | spec.queues.shards: Invalid value: 0: should be greater than or equal to 1
            too many shards               | {tasks: {items: ["1"]}, run: {builtin: square}, queues: {shards: 33}}                 | spec.queues.shards: Invalid value: 33: should be less than or equal to 32
            zero maxAttempts              | {tasks: {items: ["1"]}, run: {builtin: square}, retry: {maxAttempts: 0}}              | spec.retry.maxAttempts: Invalid value: 0: should be greater than or equal to 1
            negative maxFailedTasks       | {tasks: {items: ["1"]}, run: {builtin: square}, failurePolicy: {maxFailedTasks: -1}}  | spec.failurePolicy.maxFailedTasks: Invalid value: -1: should be greater than or equal to 0
            negative ttl                  | {tasks: {items: ["1"]}, run: {builtin: square}, ttlSecondsAfterFinished: -1}          | spec.ttlSecondsAfterFinished: Invalid value: -1: should be greater than or equal to 0
            string suspend                | {tasks: {items: ["1"]}, run: {builtin: square}, suspend: "true"}                      | spec.suspend: Invalid value: "string": must be of type boolean
            range with step 0             | {tasks: {range: {from: 1, to: 10, step: 0}}, run: {builtin: square}}                  | spec.tasks.range: Invalid value: "object": step must not be 0 (a negative step counts down)
            non-integer range bound       | {tasks: {range: {from: 1.5, to: 10}}, run: {builtin: square}}                         | spec.tasks.range.from: Invalid value: "number": must be of type integer
            range without to              | {tasks: {range: {from: 1}}, run: {builtin: square}}                                   | spec.tasks.range.to: Required value
            items not a list              | {tasks: {items: "1,2,3"}, run: {builtin: square}}                                     | spec.tasks.items: Invalid value: "string": must be of type array
            no items                      | {tasks: {items: []}, run: {builtin: square}}                                          | spec.tasks.items: Invalid value: 0: should have at least 1 items
            numbers as items              | {tasks: {items: [1, 2]}, run: {builtin: square}}                                      | spec.tasks.items[0]: Invalid value: "integer": must be of type string
            configMap without key         | {tasks: {configMap: {name: words}}, run: {builtin: square}}                           | spec.tasks.configMap.key: Required value
            unknown sourceErrors          | {tasks: {configMap: {name: words, key: w}, sourceErrors: skip}, run: {builtin: square}} | spec.tasks.sourceErrors: Unsupported value: "skip": supported values: "failTask", "failBatch"
            files without glob            | {tasks: {files: {claimName: data}}, run: {builtin: sha256}}                           | spec.tasks.files.glob: Required value
            empty command                 | {tasks: {items: ["1"]}, run: {command: []}}                                           | spec.run.command: Invalid value: 0: should have at least 1 items
            command as one string         | {tasks: {items: ["1"]}, run: {command: "sh -c date"}}                                 | spec.run.command: Invalid value: "string": must be of type array
            processPool without command   | {tasks: {items: ["1"]}, run: {processPool: {maxTasksPerProcess: 5}}}                  | spec.run.processPool.command: Required value
            zero maxTasksPerProcess       | {tasks: {items: ["1"]}, run: {processPool: {command: [cat], maxTasksPerProcess: 0}}}  | spec.run.processPool.maxTasksPerProcess: Invalid value: 0: should be greater than or equal to 1
            misspelled template field     | {tasks: {items: ["1"]}, run: {builtin: square}, workers: {template: {spec: {containers: [{name: worker, volumeMount: []}]}}}} | spec.workers.template.spec.containers[0].volumeMount: Unknown field
            template env as a map         | {tasks: {items: ["1"]}, run: {builtin: square}, workers: {template: {spec: {containers: [{name: worker, env: {A: b}}]}}}} | spec.workers.template.spec.containers[0].env: Invalid value: "object": must be of type array
            template gpu limit as a list  | {tasks: {items: ["1"]}, run: {builtin: square}, workers: {template: {spec: {containers: [{name: w, resources: {limits: [1]}}]}}}} | spec.workers.template.spec.containers[0].resources.limits: Invalid value: "array": must be of type object
            master affinity misspelled    | {tasks: {items: ["1"]}, run: {builtin: square}, master: {affinity: {nodeAfinity: {}}}} | spec.master.affinity.nodeAfinity: Unknown field
            """;

    static List<Arguments> exampleBatches() throws IOException {
        List<Arguments> batches = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of("k8s", "examples"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                try (MappingIterator<JsonNode> documents = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
                    for (JsonNode document : documents.readAll()) {
                        // Anything claiming our group counts, so that a misspelled kind fails instead of being skipped.
                        if ("TaskBatch".equals(document.path("kind").asText())
                                || document.path("apiVersion").asText().startsWith("taskbatch.io/")) {
                            batches.add(Arguments.of(file.getFileName() + " " + document.at("/metadata/name").asText(), document));
                        }
                    }
                }
            }
        }
        return batches;
    }

    @Test
    void theExamplesAreFound() throws IOException {
        assertThat(exampleBatches()).as("TaskBatch documents in k8s/examples/*.yaml").isNotEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("exampleBatches")
    void acceptsTheExample(String name, JsonNode batch) {
        assertThat(VALIDATOR.validate(batch)).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = BROKEN)
    void rejectsABrokenBatch(String name, String spec, String expected) throws IOException {
        assertThat(VALIDATOR.validate(batch(spec))).as(spec).anySatisfy(error -> assertThat(error).startsWith(expected));
    }

    @Test
    void aMinimalBatchIsValidAndACelRuleRejectsOne() throws IOException {
        assertThat(VALIDATOR.validate(batch(MINIMAL))).isEmpty();
        assertThat(VALIDATOR.validate(batch("{tasks: {items: [\"1\"]}, run: {builtin: square, command: [cat]}}")))
                .containsExactly("spec.run: Invalid value: \"object\": set exactly one of builtin, command, processPool");
    }

    @Test
    void everyCelRuleOfTheCrdRejectsABrokenBatch() throws IOException {
        List<String> messages = new ArrayList<>();
        YAML.readTree(CRD.toFile()).findValues("x-kubernetes-validations")
                .forEach(rules -> rules.forEach(rule -> messages.add(rule.path("message").asText())));
        assertThat(messages).as("the CRD's CEL rules").isNotEmpty()
                .allSatisfy(message -> assertThat(BROKEN).as("a broken case for the rule").contains(message));
    }

    @Test
    void defaultsAreAppliedBeforeTheRules() throws IOException {
        JsonNode range = batch("{tasks: {range: {from: 1, to: 3}}, run: {builtin: square}}");
        assertThat(VALIDATOR.validate(range)).as("self.step != 0 fails on a missing step").isEmpty();
        JsonNode stored = VALIDATOR.normalized(range);
        assertThat(stored.at("/spec/tasks/range/step").asLong()).isEqualTo(1);
        assertThat(stored.at("/spec/taskTimeout").asText()).isEqualTo("10m");
        assertThat(stored.at("/spec/retry").isMissingNode()).as("defaults fill objects, never create them").isTrue();
    }

    @Test
    void theObjectItselfIsChecked() throws IOException {
        assertThat(VALIDATOR.validate(YAML.readTree("apiVersion: taskbatch.io/v1alpha1\nkind: TaskBatch\nmetadata: {}\nspec: " + MINIMAL)))
                .containsExactly("metadata.name: Required value");
        assertThat(VALIDATOR.validate(YAML.readTree("apiVersion: taskbatch.io/v1alpha1\nkind: TaskBatch\nmetadata: {name: t}\nsepc: " + MINIMAL)))
                .containsExactly("sepc: Unknown field");
        assertThat(VALIDATOR.validate(YAML.readTree("apiVersion: taskbatch.io/v1\nkind: Taskbatch\nmetadata: {name: t}\nspec: " + MINIMAL)))
                .containsExactly("apiVersion: Unsupported value: \"taskbatch.io/v1\": supported values: \"taskbatch.io/v1alpha1\"",
                        "kind: Unsupported value: \"Taskbatch\": supported values: \"TaskBatch\"");
    }

    /** What the CRD does not use yet: enum, maxLength, exclusive bounds, nullable, messageExpression, fieldPath, oldSelf. */
    @Test
    void theValidatorChecksMoreThanTheCrdUses() throws IOException {
        CrdSchemaValidator validator = new CrdSchemaValidator("example.io/v1", "Example", YAML.readTree("""
                type: object
                properties:
                  spec:
                    type: object
                    x-kubernetes-validations:
                    - {rule: "self.low <= self.high", messageExpression: "'low ' + string(self.low) + ' exceeds high ' + string(self.high)", fieldPath: .low}
                    - {rule: "self == oldSelf", message: immutable}
                    properties:
                      low: {type: integer}
                      high: {type: integer, maximum: 10, exclusiveMaximum: true}
                      mode: {type: string, enum: [fast, slow], default: fast}
                      note: {type: string, maxLength: 5, nullable: true}
                      extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
                """));
        assertThat(example(validator, "{low: 1, high: 2, note: null, extra: {any: [thing]}}")).isEmpty();
        assertThat(example(validator, "{low: 3, high: 2}")).containsExactly("spec.low: Invalid value: \"object\": low 3 exceeds high 2");
        assertThat(example(validator, "{low: 1, high: 10}")).containsExactly("spec.high: Invalid value: 10: should be less than 10");
        assertThat(example(validator, "{low: 3, high: 2, mode: turbo, note: toolong}")).as("enum and size errors block the rules")
                .containsExactly("spec.mode: Unsupported value: \"turbo\": supported values: \"fast\", \"slow\"",
                        "spec.note: Too long: may not be more than 5 chars",
                        "<root>: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation");
    }

    private static List<String> example(CrdSchemaValidator validator, String spec) throws IOException {
        return validator.validate(YAML.readTree("apiVersion: example.io/v1\nkind: Example\nmetadata: {name: x}\nspec: " + spec));
    }

    private static JsonNode batch(String spec) throws IOException {
        return YAML.readTree("apiVersion: taskbatch.io/v1alpha1\nkind: TaskBatch\nmetadata: {name: t}\nspec: " + spec);
    }

    private static CrdSchemaValidator validator() {
        try {
            return CrdSchemaValidator.forCrd(CRD, "v1alpha1");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
