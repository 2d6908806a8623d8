package io.taskbatch.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.fabric8.crdv2.generator.CRDPostProcessor;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Build time only (the Quarkus build runs it, {@code quarkus.operator-sdk.crd.post-processor}): puts the
 * CRD's printer columns in the order of {@link TaskBatch#PRINTER_COLUMNS}. fabric8's generator sorts
 * them by JSONPath (so AGE, from {@code .metadata}, came first) and offers no way to order them.
 * A column missing from the list, or listed but not generated, fails the build: every column gets a
 * deliberate place. It also gives {@code kubectl explain} a text for the kind itself and for the fields
 * of the Kubernetes types the spec and status embed (Condition, Toleration), whose fabric8 classes
 * carry none, and the allowed values of {@code spec.tasks.sourceErrors} and {@code spec.redrive.select}, strings the generator
 * has no annotation for.
 */
public class CrdConventions implements CRDPostProcessor {
    static final Map<String, String> CONDITION = Map.of(
            "type", "Valid, Reconciled, Running, Complete, Failed or Suspended.",
            "status", "True, False or Unknown.",
            "reason", "Why the condition has its status, as one CamelCase word.",
            "message", "Why the condition has its status, for people.",
            "lastTransitionTime", "When the status last changed.",
            "observedGeneration", "The spec generation the condition was set for.");
    static final Map<String, String> TOLERATION = Map.of(
            "key", "The taint key to tolerate; empty with operator Exists tolerates every taint.",
            "operator", "Exists or Equal (the default).",
            "value", "The taint value to match when operator is Equal.",
            "effect", "The taint effect to tolerate: NoSchedule, PreferNoSchedule or NoExecute; empty tolerates all.",
            "tolerationSeconds", "With NoExecute: how long the pod stays on a node after the taint is added; unset = for good.");

    @Override
    public HasMetadata process(HasMetadata crd, String crdSpecVersion) {
        if (!(crd instanceof CustomResourceDefinition definition)
                || !definition.getSpec().getNames().getKind().equals(TaskBatch.KIND)) {
            return crd;
        }
        for (CustomResourceDefinitionVersion version : definition.getSpec().getVersions()) {
            version.setAdditionalPrinterColumns(ordered(version.getAdditionalPrinterColumns()));
            JSONSchemaProps root = version.getSchema().getOpenAPIV3Schema();
            if (root.getDescription() == null) root.setDescription(TaskBatch.DESCRIPTION);
            describe(items(root, "status", "conditions"), CONDITION);
            describe(items(root, "spec", "workers", "tolerations"), TOLERATION);
            describe(items(root, "spec", "master", "tolerations"), TOLERATION);
            property(root, "spec", "tasks", "sourceErrors")
                    .setEnum(TaskSourceSpec.SOURCE_ERRORS.stream().map(v -> (JsonNode) TextNode.valueOf(v)).toList());
            JSONSchemaProps select = property(root, "spec", "redrive", "select");
            select.getItems().getSchema().setEnum(RedriveSpec.KINDS.stream().map(v -> (JsonNode) TextNode.valueOf(v)).toList());
            select.setDefault(new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(RedriveSpec.KINDS));
        }
        return crd;
    }

    private static JSONSchemaProps items(JSONSchemaProps root, String... path) {
        return property(root, path).getItems().getSchema();
    }

    private static JSONSchemaProps property(JSONSchemaProps root, String... path) {
        JSONSchemaProps node = root;
        for (String step : path) {
            node = node.getProperties().get(step);
            if (node == null) throw new IllegalStateException("the CRD has no " + String.join(".", path));
        }
        return node;
    }

    /** Fills in missing descriptions; a property without a text here fails the build. */
    private static void describe(JSONSchemaProps object, Map<String, String> texts) {
        object.getProperties().forEach((name, property) -> {
            if (property.getDescription() != null) return;
            String text = texts.get(name);
            if (text == null) throw new IllegalStateException("no description for the property " + name);
            property.setDescription(text);
        });
    }

    static List<CustomResourceColumnDefinition> ordered(List<CustomResourceColumnDefinition> columns) {
        List<String> generated = columns.stream().map(CustomResourceColumnDefinition::getName).toList();
        if (!generated.containsAll(TaskBatch.PRINTER_COLUMNS) || !TaskBatch.PRINTER_COLUMNS.containsAll(generated)) {
            throw new IllegalStateException("TaskBatch.PRINTER_COLUMNS " + TaskBatch.PRINTER_COLUMNS
                    + " must name exactly the generated printer columns " + generated);
        }
        List<CustomResourceColumnDefinition> ordered = new ArrayList<>(columns);
        ordered.sort(Comparator.comparingInt(c -> TaskBatch.PRINTER_COLUMNS.indexOf(c.getName())));
        return ordered;
    }
}
