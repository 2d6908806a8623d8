package io.taskbatch.plan;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.taskbatch.api.TaskBatch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Reads a TaskBatch manifest: one YAML file, possibly with several documents (ConfigMaps beside the
 * TaskBatch). Unknown fields and wrong types are errors that name the field, as {@code kubectl
 * apply}'s strict field validation would report them.
 */
public final class ManifestLoader {
    private static final YAMLMapper MAPPER = YAMLMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .defaultSetterInfo(JsonSetter.Value.forValueNulls(Nulls.SKIP))
            .build();

    private ManifestLoader() {
    }

    public static Manifest load(Path file) throws InvalidManifestException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new InvalidManifestException(file.toString(), "no such file");
        } catch (IOException e) {
            throw new InvalidManifestException(file.toString(), "cannot read: " + e.getMessage());
        }
        return parse(text, file);
    }

    public static Manifest parse(String yaml, Path file) throws InvalidManifestException {
        List<JsonNode> documents = new ArrayList<>();
        try (MappingIterator<JsonNode> it = MAPPER.readerFor(JsonNode.class).readValues(yaml)) {
            while (it.hasNextValue()) {
                JsonNode doc = it.nextValue();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) documents.add(doc);
            }
        } catch (IOException e) {
            throw new InvalidManifestException(where(e), "not valid YAML: " + originalMessage(e));
        }
        JsonNode batchNode = null;
        Map<String, Map<String, String>> configMaps = new LinkedHashMap<>();
        List<String> kinds = new ArrayList<>();
        for (JsonNode doc : documents) {
            if (!doc.isObject()) {
                throw new InvalidManifestException("(document)", "expected a Kubernetes object (a mapping with apiVersion and kind), got " + doc.getNodeType().toString().toLowerCase());
            }
            String kind = doc.path("kind").asText("");
            kinds.add(kind.isEmpty() ? "(no kind)" : kind);
            if (kind.equals(TaskBatch.KIND)) {
                if (batchNode != null) {
                    throw new InvalidManifestException("kind", "the file holds more than one TaskBatch; give each its own file");
                }
                batchNode = doc;
            } else if (kind.equals("ConfigMap")) {
                configMaps.put(doc.path("metadata").path("name").asText(), configMapData(doc));
            }
        }
        if (batchNode == null) {
            throw new InvalidManifestException("kind", "no TaskBatch in the file (found: "
                    + (kinds.isEmpty() ? "nothing" : String.join(", ", kinds)) + "); expected kind: TaskBatch");
        }
        String apiVersion = batchNode.path("apiVersion").asText("");
        if (!apiVersion.equals(TaskBatch.API_VERSION)) {
            throw new InvalidManifestException("apiVersion", (apiVersion.isEmpty() ? "missing" : "\"" + apiVersion + "\" is not supported")
                    + "; expected " + TaskBatch.API_VERSION);
        }
        try {
            TaskBatch batch = MAPPER.treeToValue(batchNode, TaskBatch.class);
            return new Manifest(batch, configMaps, file);
        } catch (JsonProcessingException e) {
            throw new InvalidManifestException(describe(e, batchNode));
        } catch (IllegalArgumentException e) {
            throw new InvalidManifestException("(TaskBatch)", e.getMessage());
        }
    }

    private static Map<String, String> configMapData(JsonNode doc) {
        Map<String, String> data = new LinkedHashMap<>();
        doc.path("data").fields().forEachRemaining(e -> data.put(e.getKey(), e.getValue().asText()));
        return data;
    }

    private static List<Violation> describe(JsonProcessingException e, JsonNode root) {
        if (!(e instanceof JsonMappingException m)) {
            return List.of(new Violation(where(e), originalMessage(e)));
        }
        String field = path(m.getPath());
        if (m instanceof UnrecognizedPropertyException u) {
            return List.of(new Violation(field, "unknown field \"" + u.getPropertyName() + "\"; known fields here: "
                    + known(u.getKnownPropertyIds())));
        }
        if (m instanceof MismatchedInputException mi && mi.getTargetType() != null) {
            return List.of(new Violation(field, "expected " + describeType(mi.getTargetType()) + ", got "
                    + describeValue(nodeAt(root, m.getPath()))));
        }
        return List.of(new Violation(field, firstLine(originalMessage(e))));
    }

    private static String path(List<JsonMappingException.Reference> refs) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference ref : refs) {
            if (ref.getFieldName() != null) {
                if (!sb.isEmpty()) sb.append('.');
                sb.append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                sb.append('[').append(ref.getIndex()).append(']');
            }
        }
        return sb.isEmpty() ? "(TaskBatch)" : sb.toString();
    }

    private static String known(Collection<Object> ids) {
        if (ids == null || ids.isEmpty()) return "none";
        return ids.stream().map(Object::toString).collect(Collectors.toCollection(TreeSet::new)).stream()
                .collect(Collectors.joining(", "));
    }

    static String describeType(Class<?> type) {
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class) return "an integer";
        if (type == boolean.class || type == Boolean.class) return "true or false";
        if (type == String.class) return "a string";
        if (List.class.isAssignableFrom(type) || type.isArray()) return "a list";
        if (Map.class.isAssignableFrom(type)) return "a mapping of names to values";
        if (type.getSimpleName().equals("IntOrString")) return "an integer or a string";
        return "a mapping (an object with fields)";
    }

    private static JsonNode nodeAt(JsonNode root, List<JsonMappingException.Reference> refs) {
        JsonNode node = root;
        for (JsonMappingException.Reference ref : refs) {
            node = ref.getFieldName() != null ? node.path(ref.getFieldName()) : node.path(ref.getIndex());
        }
        return node;
    }

    private static String describeValue(JsonNode node) {
        if (node.isTextual()) return "\"" + node.asText() + "\"";
        if (node.isNumber() || node.isBoolean()) return node.asText();
        if (node.isArray()) return "a list";
        if (node.isObject()) return "a mapping";
        return node.isNull() ? "null" : "something else";
    }

    private static String where(JsonProcessingException e) {
        JsonLocation loc = e.getLocation();
        return loc == null || loc.getLineNr() < 0 ? "(file)" : "line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    }

    private static String where(IOException e) {
        return e instanceof JsonProcessingException j ? where(j) : "(file)";
    }

    private static String originalMessage(IOException e) {
        String message = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        return message == null ? e.getClass().getSimpleName() : message.strip();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
