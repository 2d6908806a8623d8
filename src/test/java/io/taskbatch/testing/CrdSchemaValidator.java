package io.taskbatch.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.SimpleType;
import dev.cel.common.values.NullValue;
import dev.cel.extensions.CelExtensions;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Validates a custom resource against one version of its CRD as the API server does on create: prune
 * unknown fields (reported, as {@code kubectl apply}'s strict field validation does) and apply defaults,
 * then check the structural schema, then, unless that found a blocking error, the CEL rules
 * ({@code x-kubernetes-validations}). Errors are {@code path: message}, worded like the API server's.
 */
public final class CrdSchemaValidator {
    private static final CelOptions OPTIONS = CelOptions.current().enableHeterogeneousNumericComparisons(true).build();
    // The planner runtime runs parsed, unchecked expressions: cel-java's type checker needs protobuf-java
    // >= 4.35.1 and the Quarkus BOM pins an older one. Like Kubernetes: strings and sets extensions.
    private static final Cel CEL = CelFactory.plannerCelBuilder()
            .setOptions(OPTIONS)
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
            .addCompilerLibraries(CelExtensions.strings(), CelExtensions.sets(OPTIONS))
            .addRuntimeLibraries(CelExtensions.strings(), CelExtensions.sets(OPTIONS))
            .addVar("self", SimpleType.DYN)
            .build();
    // Transition rules compare with the stored object, so they only run on updates.
    private static final Pattern OLD_SELF = Pattern.compile("\\b(oldSelf|optionalOldSelf)\\b");
    // Every object has these; the schema need not declare them.
    private static final Set<String> IMPLICIT = Set.of("apiVersion", "kind", "metadata");
    private static final Map<String, Predicate<String>> FORMATS = Map.of(
            "date-time", s -> parses(() -> OffsetDateTime.parse(s)),
            "date", s -> parses(() -> LocalDate.parse(s)),
            "byte", s -> parses(() -> Base64.getDecoder().decode(s)),
            "uuid", s -> s.matches("(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"));

    private final String apiVersion;
    private final String kind;
    private final JsonNode schema;
    private final Map<String, CelRuntime.Program> programs = new HashMap<>();

    /** The validator of {@code version} of the CRD in {@code crdFile}. */
    public static CrdSchemaValidator forCrd(Path crdFile, String version) throws IOException {
        JsonNode spec = new YAMLMapper().readTree(crdFile.toFile()).path("spec");
        for (JsonNode v : spec.path("versions")) {
            if (version.equals(v.path("name").asText())) {
                return new CrdSchemaValidator(spec.path("group").asText() + "/" + version,
                        spec.path("names").path("kind").asText(), v.path("schema").path("openAPIV3Schema"));
            }
        }
        throw new IllegalArgumentException(crdFile + " has no version " + version);
    }

    /** Fails, as the API server would refuse the CRD, if a rule does not compile. */
    public CrdSchemaValidator(String apiVersion, String kind, JsonNode openApiV3Schema) {
        this.apiVersion = apiVersion;
        this.kind = kind;
        this.schema = openApiV3Schema;
        compileRules(openApiV3Schema, "");
    }

    /** The errors of {@code manifest}, a whole object with apiVersion, kind and metadata; empty if it is valid. */
    public List<String> validate(JsonNode manifest) {
        Run run = new Run();
        JsonNode object = normalize(manifest, run);
        if (!apiVersion.equals(object.path("apiVersion").asText())) {
            run.fail("apiVersion", "Unsupported value: " + shown(object.path("apiVersion")) + ": supported values: \"" + apiVersion + "\"");
        }
        if (!kind.equals(object.path("kind").asText())) {
            run.fail("kind", "Unsupported value: " + shown(object.path("kind")) + ": supported values: \"" + kind + "\"");
        }
        if (object.path("metadata").path("name").asText("").isEmpty()) run.fail("metadata.name", "Required value");
        check(object, schema, "", run);
        if (run.blocked) {
            run.fail("", "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation");
        } else {
            run.rules.forEach(Runnable::run);
        }
        return run.errors;
    }

    /** The manifest as the API server would store it: unknown fields and nulls pruned, defaults applied. */
    public JsonNode normalized(JsonNode manifest) {
        return normalize(manifest, new Run());
    }

    private JsonNode normalize(JsonNode manifest, Run run) {
        JsonNode copy = manifest.deepCopy();
        prune(copy, schema, "", run);
        return copy;
    }

    // Top down, like the API server: drop unknown fields, and nulls where not nullable, then set defaults.
    private static void prune(JsonNode value, JsonNode schema, String path, Run run) {
        boolean preserve = schema.path("x-kubernetes-preserve-unknown-fields").asBoolean();
        if (value instanceof ObjectNode object && (schema.path("type").asText().equals("object") || preserve)) {
            JsonNode properties = schema.path("properties");
            JsonNode additional = schema.path("additionalProperties");
            boolean implicit = path.isEmpty() || schema.path("x-kubernetes-embedded-resource").asBoolean();
            List<String> names = new ArrayList<>();
            object.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                JsonNode sub = properties.has(name) ? properties.get(name) : additional.isObject() ? additional : null;
                if (sub == null && !preserve && !additional.asBoolean(false) && !(implicit && IMPLICIT.contains(name))) {
                    run.fail(join(path, name), "Unknown field");
                    object.remove(name);
                } else if (sub != null && object.get(name).isNull() && !sub.path("nullable").asBoolean() && !sub.has("default")) {
                    object.remove(name);
                }
            }
            for (Map.Entry<String, JsonNode> p : properties.properties()) {
                JsonNode current = object.get(p.getKey());
                boolean absent = current == null || current.isNull() && !p.getValue().path("nullable").asBoolean();
                if (absent && p.getValue().has("default")) object.set(p.getKey(), p.getValue().get("default").deepCopy());
            }
            for (Map.Entry<String, JsonNode> field : object.properties()) {
                JsonNode sub = properties.has(field.getKey()) ? properties.get(field.getKey()) : additional;
                if (sub.isObject()) prune(field.getValue(), sub, join(path, field.getKey()), run);
            }
        } else if (value instanceof ArrayNode array && schema.path("items").isObject()) {
            for (int i = 0; i < array.size(); i++) prune(array.get(i), schema.get("items"), path + "[" + i + "]", run);
        }
    }

    private void check(JsonNode value, JsonNode schema, String path, Run run) {
        if (value.isNull() && schema.path("nullable").asBoolean()) return;
        String type = schema.path("type").asText();
        if (!type.isEmpty() && !hasType(value, type)) {
            run.block(path, "Invalid value: \"" + typeOf(value) + "\": must be of type " + type);
            return;
        }
        if (schema.path("x-kubernetes-int-or-string").asBoolean() && !value.isIntegralNumber() && !value.isTextual()) {
            run.block(path, "Invalid value: \"" + typeOf(value) + "\": must be of type integer or string");
            return;
        }
        if (schema.has("enum") && !contains(schema.get("enum"), value)) {
            List<String> supported = new ArrayList<>();
            schema.get("enum").forEach(e -> supported.add(shown(e)));
            run.block(path, "Unsupported value: " + shown(value) + ": supported values: " + String.join(", ", supported));
        }
        if (value.isNumber()) checkNumber(value, schema, path, run);
        if (value.isTextual()) checkString(value.asText(), schema, path, run);
        if (value.isArray()) {
            if (value.size() < schema.path("minItems").asInt(0)) {
                run.fail(path, "Invalid value: " + value.size() + ": should have at least " + schema.get("minItems") + " items");
            }
            if (schema.has("maxItems") && value.size() > schema.get("maxItems").asInt()) {
                run.block(path, "Too many: " + value.size() + ": must have at most " + schema.get("maxItems") + " items");
            }
            if (schema.path("items").isObject()) {
                for (int i = 0; i < value.size(); i++) check(value.get(i), schema.get("items"), path + "[" + i + "]", run);
            }
        }
        if (value.isObject()) {
            for (JsonNode required : schema.path("required")) {
                if (!value.has(required.asText())) run.block(join(path, required.asText()), "Required value");
            }
            if (value.size() < schema.path("minProperties").asInt(0)) {
                run.fail(path, "Invalid value: " + value.size() + ": should have at least " + schema.get("minProperties") + " properties");
            }
            if (schema.has("maxProperties") && value.size() > schema.get("maxProperties").asInt()) {
                run.block(path, "Too many: " + value.size() + ": must have at most " + schema.get("maxProperties") + " properties");
            }
            for (Map.Entry<String, JsonNode> field : value.properties()) {
                JsonNode sub = schema.path("properties").has(field.getKey())
                        ? schema.get("properties").get(field.getKey()) : schema.path("additionalProperties");
                if (sub.isObject()) check(field.getValue(), sub, join(path, field.getKey()), run);
            }
        }
        checkCombinators(value, schema, path, run);
        for (JsonNode rule : schema.path("x-kubernetes-validations")) {
            if (!OLD_SELF.matcher(rule.path("rule").asText()).find()) run.rules.add(() -> evaluate(rule, value, path, run));
        }
    }

    private static void checkNumber(JsonNode value, JsonNode schema, String path, Run run) {
        BigDecimal number = value.decimalValue();
        if (schema.has("minimum")) {
            BigDecimal min = schema.get("minimum").decimalValue();
            boolean exclusive = schema.path("exclusiveMinimum").asBoolean();
            if (exclusive ? number.compareTo(min) <= 0 : number.compareTo(min) < 0) {
                run.fail(path, "Invalid value: " + value + ": should be greater than " + (exclusive ? "" : "or equal to ") + plain(min));
            }
        }
        if (schema.has("maximum")) {
            BigDecimal max = schema.get("maximum").decimalValue();
            boolean exclusive = schema.path("exclusiveMaximum").asBoolean();
            if (exclusive ? number.compareTo(max) >= 0 : number.compareTo(max) > 0) {
                run.fail(path, "Invalid value: " + value + ": should be less than " + (exclusive ? "" : "or equal to ") + plain(max));
            }
        }
    }

    private static void checkString(String text, JsonNode schema, String path, Run run) {
        int length = text.codePointCount(0, text.length());
        String shown = shown(TextNode.valueOf(text));
        if (length < schema.path("minLength").asInt(0)) {
            run.fail(path, "Invalid value: " + shown + ": should be at least " + schema.get("minLength") + " chars long");
        }
        if (schema.has("maxLength") && length > schema.get("maxLength").asInt()) {
            run.block(path, "Too long: may not be more than " + schema.get("maxLength") + " chars");
        }
        if (schema.has("pattern") && !Pattern.compile(schema.get("pattern").asText()).matcher(text).find()) {
            run.fail(path, "Invalid value: " + shown + ": should match '" + schema.get("pattern").asText() + "'");
        }
        if (!FORMATS.getOrDefault(schema.path("format").asText(), s -> true).test(text)) {
            run.fail(path, "Invalid value: " + shown + ": must be of format " + schema.get("format").asText());
        }
    }

    // Value validation only: the structural part of the schema has already shaped the object.
    private void checkCombinators(JsonNode value, JsonNode schema, String path, Run run) {
        for (JsonNode sub : schema.path("allOf")) check(value, sub, path, run);
        if (schema.has("anyOf") && passing(value, schema.get("anyOf"), path) == 0) {
            run.fail(path, "Invalid value: " + shown(value) + ": must validate at least one schema (anyOf)");
        }
        if (schema.has("oneOf") && passing(value, schema.get("oneOf"), path) != 1) {
            run.fail(path, "Invalid value: " + shown(value) + ": must validate one and only one schema (oneOf)");
        }
        if (schema.has("not") && passing(value, List.of(schema.get("not")), path) == 1) {
            run.fail(path, "Invalid value: " + shown(value) + ": must not validate the schema (not)");
        }
    }

    private int passing(JsonNode value, Iterable<JsonNode> schemas, String path) {
        int passing = 0;
        for (JsonNode sub : schemas) {
            Run scratch = new Run();
            check(value, sub, path, scratch);
            if (scratch.errors.isEmpty()) passing++;
        }
        return passing;
    }

    private void evaluate(JsonNode rule, JsonNode value, String path, Run run) {
        String at = (path + rule.path("fieldPath").asText("")).replaceFirst("^\\.", "");
        String invalid = "Invalid value: \"" + typeOf(value) + "\": ";
        Map<String, Object> self = Map.of("self", toCel(value));
        try {
            Object result = programs.get(rule.path("rule").asText()).eval(self);
            if (!(result instanceof Boolean)) run.fail(at, invalid + "rule evaluation error: not a bool: " + result);
            else if (!(Boolean) result) run.fail(at, invalid + message(rule, self));
        } catch (CelEvaluationException e) {
            run.fail(at, invalid + "rule evaluation error: " + e.getMessage());
        }
    }

    // messageExpression, else message, else the rule; the API server falls back the same way.
    private String message(JsonNode rule, Map<String, Object> self) {
        if (rule.has("messageExpression")) {
            try {
                if (programs.get(rule.get("messageExpression").asText()).eval(self) instanceof String s && !s.isBlank()) return s;
            } catch (CelEvaluationException e) {
                // fall back
            }
        }
        return rule.has("message") ? rule.get("message").asText() : "failed rule: " + rule.path("rule").asText();
    }

    private void compileRules(JsonNode schema, String path) {
        for (JsonNode rule : schema.path("x-kubernetes-validations")) {
            compile(rule.path("rule").asText(), path);
            if (rule.has("messageExpression")) compile(rule.get("messageExpression").asText(), path);
        }
        for (Map.Entry<String, JsonNode> p : schema.path("properties").properties()) compileRules(p.getValue(), join(path, p.getKey()));
        if (schema.path("additionalProperties").isObject()) compileRules(schema.get("additionalProperties"), join(path, "*"));
        if (schema.path("items").isObject()) compileRules(schema.get("items"), path + "[*]");
        for (String combinator : List.of("allOf", "anyOf", "oneOf")) schema.path(combinator).forEach(sub -> compileRules(sub, path));
        if (schema.has("not")) compileRules(schema.get("not"), path);
    }

    private void compile(String expression, String path) {
        if (programs.containsKey(expression)) return;
        try {
            programs.put(expression, CEL.createProgram(CEL.parse(expression).getAst()));
        } catch (CelValidationException | CelEvaluationException e) {
            throw new IllegalArgumentException("the rule at " + path + " does not compile: " + expression, e);
        }
    }

    private static Object toCel(JsonNode value) {
        return switch (value.getNodeType()) {
            case OBJECT -> {
                Map<String, Object> map = new LinkedHashMap<>();
                value.properties().forEach(f -> map.put(f.getKey(), toCel(f.getValue())));
                yield map;
            }
            case ARRAY -> {
                List<Object> list = new ArrayList<>();
                value.forEach(e -> list.add(toCel(e)));
                yield list;
            }
            case NUMBER -> value.isIntegralNumber() ? (Object) value.longValue() : (Object) value.doubleValue();
            case BOOLEAN -> value.booleanValue();
            case NULL -> NullValue.NULL_VALUE;
            default -> value.asText();
        };
    }

    private static boolean hasType(JsonNode value, String type) {
        return switch (type) {
            case "integer" -> value.isIntegralNumber();
            case "number" -> value.isNumber();
            default -> typeOf(value).equals(type);
        };
    }

    private static String typeOf(JsonNode value) {
        return switch (value.getNodeType()) {
            case OBJECT -> "object";
            case ARRAY -> "array";
            case STRING -> "string";
            case BOOLEAN -> "boolean";
            case NULL, MISSING -> "null";
            case NUMBER -> value.isIntegralNumber() ? "integer" : "number";
            default -> value.getNodeType().name().toLowerCase();
        };
    }

    // Numbers compare by value: an enum's 1 matches a manifest's 1.0 as it does in JSON.
    private static boolean contains(JsonNode values, JsonNode value) {
        for (JsonNode v : values) {
            if (v.equals(value) || v.isNumber() && value.isNumber() && v.decimalValue().compareTo(value.decimalValue()) == 0) return true;
        }
        return false;
    }

    private static String shown(JsonNode value) {
        return value.isContainerNode() ? "\"" + typeOf(value) + "\"" : value.isMissingNode() ? "null" : value.toString();
    }

    private static String plain(BigDecimal number) {
        return number.stripTrailingZeros().toPlainString();
    }

    private static String join(String path, String name) {
        return path.isEmpty() ? name : path + "." + name;
    }

    private static boolean parses(Runnable parse) {
        try {
            parse.run();
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** One validation: its errors, and the CEL rules it reached, which run only if nothing blocks them. */
    private static final class Run {
        final List<String> errors = new ArrayList<>();
        final List<Runnable> rules = new ArrayList<>();
        // A type, required, enum or size error: the API server then skips the CEL rules.
        boolean blocked;

        void fail(String path, String message) {
            errors.add((path.isEmpty() ? "<root>" : path) + ": " + message);
        }

        void block(String path, String message) {
            fail(path, message);
            blocked = true;
        }
    }
}
