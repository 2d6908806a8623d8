package io.taskbatch.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinitionBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.taskbatch.testing.CrdSchemaValidator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What kubectl shows of the committed CRD: columns in order, a category, a text and the defaults for every field. */
class CrdConventionsTest {
    private static final Path CRD = Path.of("k8s", "crd", "taskbatches.taskbatch.io-v1.yml");
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final KubernetesSerialization KUBE = new KubernetesSerialization();

    private static JsonNode crd() throws Exception {
        return YAML.readTree(CRD.toFile());
    }

    private static JsonNode version() throws Exception {
        return crd().path("spec").path("versions").get(0);
    }

    @Test
    void printerColumnsComeInKubectlsOrderWithAgeLastAndMessageOnlyWide() throws Exception {
        List<String> shown = new ArrayList<>();
        List<String> wide = new ArrayList<>();
        for (JsonNode column : version().path("additionalPrinterColumns")) {
            (column.path("priority").asInt() == 0 ? shown : wide).add(column.path("name").asText());
        }
        assertThat(shown).containsExactly("PHASE", "DONE", "FAILED", "WORKERS", "RATE", "ETA", "AGE");
        assertThat(wide).containsExactly("MESSAGE");
        assertThat(version().path("additionalPrinterColumns")).extracting(c -> c.path("jsonPath").asText())
                .containsExactly(".status.phase", ".status.done", ".status.failed", ".status.workers", ".status.rate",
                        ".status.eta", ".metadata.creationTimestamp", ".status.message");
    }

    @Test
    void aColumnWithoutADeliberatePlaceFailsTheBuild() {
        List<CustomResourceColumnDefinition> generated = new ArrayList<>();
        for (String name : TaskBatch.PRINTER_COLUMNS) generated.add(column(name));
        assertThat(CrdConventions.ordered(generated.reversed())).extracting(CustomResourceColumnDefinition::getName)
                .containsExactlyElementsOf(TaskBatch.PRINTER_COLUMNS);
        generated.add(column("NEW"));
        assertThatThrownBy(() -> CrdConventions.ordered(generated)).hasMessageContaining("PRINTER_COLUMNS");
        assertThatThrownBy(() -> CrdConventions.ordered(List.of(column("PHASE")))).hasMessageContaining("PRINTER_COLUMNS");
    }

    private static CustomResourceColumnDefinition column(String name) {
        return new CustomResourceColumnDefinitionBuilder().withName(name).withJsonPath(".status.x").withType("string").build();
    }

    @Test
    void namesHaveTheShortNameAndTheCategory() throws Exception {
        JsonNode names = crd().path("spec").path("names");
        assertThat(names.path("shortNames")).extracting(JsonNode::asText).containsExactly("tb");
        assertThat(names.path("categories")).extracting(JsonNode::asText).containsExactly("taskbatch-all");
        assertThat(names.path("categories")).extracting(JsonNode::asText)
                .as("a category named like the resource would shadow it in kubectl")
                .doesNotContain(names.path("singular").asText(), names.path("plural").asText(), "all");
    }

    @Test
    void kubectlExplainHasATextForTheKindAndEveryField() throws Exception {
        JsonNode root = version().path("schema").path("openAPIV3Schema");
        assertThat(root.path("description").asText()).isNotBlank();
        List<String> undescribed = new ArrayList<>();
        undescribed(root.path("properties").path("spec"), "spec", undescribed);
        undescribed(root.path("properties").path("status"), "status", undescribed);
        assertThat(undescribed).isEmpty();
        // the conditions' own fields too, not only the list
        assertThat(root.at("/properties/status/properties/conditions/items/properties")).hasSizeGreaterThanOrEqualTo(5);
    }

    /**
     * Embedded core/v1 types: the field itself has our text, and its own fields are Kubernetes' (kubectl explain
     * pod.spec documents them); repeating Kubernetes' texts would make the CRD several times larger.
     */
    static final List<String> EMBEDDED_CORE_TYPES = List.of("spec.workers.template", "spec.master.template",
            "spec.master.affinity");

    private static void undescribed(JsonNode property, String path, List<String> out) {
        if (property.path("description").asText().isBlank()) out.add(path);
        if (EMBEDDED_CORE_TYPES.contains(path)) return;
        property.path("properties").properties().forEach(e -> undescribed(e.getValue(), path + "." + e.getKey(), out));
        JsonNode items = property.path("items");
        items.path("properties").properties().forEach(e -> undescribed(e.getValue(), path + "[]." + e.getKey(), out));
        JsonNode values = property.path("additionalProperties");
        values.path("properties").properties().forEach(e -> undescribed(e.getValue(), path + "{}." + e.getKey(), out));
    }

    @Test
    void kubectlExplainShowsTheDefaults() throws Exception {
        JsonNode spec = version().at("/schema/openAPIV3Schema/properties/spec/properties");
        assertThat(spec.at("/workers/properties/replicas/default").asText()).isEqualTo("auto");
        assertThat(spec.at("/workers/properties/cpu/default").asText()).isEqualTo("1");
        assertThat(spec.at("/workers/properties/memory/default").asText()).isEqualTo("512Mi");
        assertThat(spec.at("/ttlSecondsAfterFinished/default").asLong()).isEqualTo(86400);
        assertThat(spec.at("/taskTimeout/default").asText()).isEqualTo("10m");
        assertThat(spec.at("/retry/properties/maxAttempts/default").asInt()).isEqualTo(3);
        assertThat(spec.at("/retry/properties/backoff/default").asText()).isEqualTo("2s");
        assertThat(spec.at("/retry/properties/maxBackoff/default").asText()).isEqualTo("1m");
        assertThat(spec.at("/tasks/properties/sourceErrors/default").asText()).isEqualTo("failTask");
        assertThat(spec.at("/tasks/properties/sourceErrors/enum")).extracting(JsonNode::asText)
                .as("kubectl explain lists the allowed values").containsExactly("failTask", "failBatch");
    }

    /** A default the API server writes into the stored object must be the one the code assumes when the field is absent. */
    @Test
    void theApiServersDefaultsAreTheCodes() throws Exception {
        CrdSchemaValidator validator = CrdSchemaValidator.forCrd(CRD, "v1alpha1");
        JsonNode manifest = YAML.readTree("""
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata: {name: defaults}
                spec: {tasks: {items: ["1"]}, run: {builtin: square}, workers: {}, retry: {}, failurePolicy: {}, results: {}}
                """);
        JsonNode stored = validator.normalized(manifest);
        assertThat(stored.path("spec").path("workers").path("cpu").asText()).as("defaults were applied").isEqualTo("1");

        TaskBatch asSent = KUBE.convertValue(manifest, TaskBatch.class);
        TaskBatch asStored = KUBE.convertValue(stored, TaskBatch.class);
        ObjectMapper json = new ObjectMapper();
        Map<?, ?> codeDefaults = json.convertValue(KUBE.convertValue(asSent.getSpec(), JsonNode.class), Map.class);
        Map<?, ?> serverDefaults = json.convertValue(KUBE.convertValue(asStored.getSpec(), JsonNode.class), Map.class);
        assertThat(serverDefaults).isEqualTo(codeDefaults);
    }
}
