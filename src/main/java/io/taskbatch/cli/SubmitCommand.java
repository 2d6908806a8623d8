package io.taskbatch.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.cluster.ApiErrors;
import io.taskbatch.plan.InvalidManifestException;
import io.taskbatch.plan.Manifest;
import io.taskbatch.plan.ManifestLoader;
import io.taskbatch.plan.SpecValidator;
import io.taskbatch.worker.TaskHandlers;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code taskbatch submit FILE}: validates a manifest here, as {@code run} does, then creates its TaskBatch on the cluster. */
@Command(name = "submit", mixinStandardHelpOptions = true,
        description = {"Validate a TaskBatch manifest here (every problem at once, as taskbatch run",
                "does), then create the TaskBatch on the cluster. With --watch, follow it",
                "until it is decided, as taskbatch watch does."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:created (with --watch: the batch succeeded)", "1:with --watch: the batch failed",
                "2:invalid manifest or arguments, the batch exists already, or a refused request; nothing was created",
                "3:the Kubernetes API could not be reached"})
public class SubmitCommand implements Callable<Integer> {
    static final ResourceDefinitionContext TASKBATCHES = new ResourceDefinitionContext.Builder()
            .withGroup(TaskBatch.GROUP).withVersion(TaskBatch.VERSION).withKind(TaskBatch.KIND).withPlural("taskbatches")
            .withNamespaced(true).build();
    private static final YAMLMapper YAML = new YAMLMapper();

    @Parameters(index = "0", paramLabel = "FILE", description = "The TaskBatch manifest (YAML).")
    Path file;

    @Option(names = {"-w", "--watch"}, description = "Follow the batch until it is decided; the exit code says how.")
    boolean watch;

    @Option(names = "--progress", paramLabel = "MODE", defaultValue = "auto",
            description = "With --watch: auto (a bar on a terminal, plain lines otherwise), bar, plain or none.")
    String progress;

    @Mixin
    ClusterOptions cluster = new ClusterOptions();

    @Inject
    TaskHandlers handlers;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ProgressPrinter.Mode mode = ProgressPrinter.Mode.parse(progress, err);
        if (mode == null) return ExitCodes.INVALID;
        Manifest manifest;
        try {
            manifest = ManifestLoader.load(file);
            SpecValidator.validate(manifest.batch(), handlers.names());
        } catch (InvalidManifestException e) {
            BatchFile.report("invalid manifest " + file, SpecValidator.withCrossFieldChecks(e, handlers.names()), err);
            return ExitCodes.INVALID;
        }
        String declared = manifest.batch().getMetadata().getNamespace();
        String given = cluster.givenNamespace();
        if (declared != null && given != null && !declared.equals(given)) {
            err.println("the manifest's namespace \"" + declared + "\" is not --namespace \"" + given
                    + "\": drop one of them, or make them the same");
            return ExitCodes.INVALID;
        }
        var source = manifest.batch().getSpec().getTasks().getConfigMap();
        if (source != null && manifest.configMaps().containsKey(source.getName())) {
            err.println("note: " + file + " also holds ConfigMap " + source.getName() + ", which submit does not create"
                    + " (kubectl apply -f " + file + " creates it; or kubectl create configmap)");
        }
        ClusterOptions.Cluster c = cluster.connect(err);
        if (c == null) return ExitCodes.INVALID;
        try (c) {
            String namespace = declared != null ? declared : c.namespace();
            String name = manifest.batch().getMetadata().getName();
            GenericKubernetesResource created = create(c.client(), namespace, name, document());
            out.println("taskbatch." + TaskBatch.GROUP + "/" + created.getMetadata().getName() + " created in namespace " + namespace);
            out.flush();
            return watch ? BatchWatch.follow(c.client(), namespace, name, mode, err) : ExitCodes.SUCCEEDED;
        } catch (ClusterCalls.Failed f) {
            return ClusterCalls.report(f, err);
        }
    }

    /** The TaskBatch as written in the file, for the API server to default and validate as it does for kubectl. */
    private ObjectNode document() {
        try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(Files.readString(file))) {
            while (docs.hasNextValue()) {
                JsonNode doc = docs.nextValue();
                if (doc != null && doc.isObject() && TaskBatch.KIND.equals(doc.path("kind").asText())) return (ObjectNode) doc;
            }
        } catch (IOException e) {
            throw new ClusterCalls.Failed(ExitCodes.INVALID, "cannot read " + file + ": " + e.getMessage());
        }
        throw new ClusterCalls.Failed(ExitCodes.INVALID, "no TaskBatch in " + file); // validated above: cannot happen
    }

    private static GenericKubernetesResource create(KubernetesClient client, String namespace, String name, ObjectNode doc) {
        doc.with("metadata").put("namespace", namespace);
        GenericKubernetesResource batch = client.getKubernetesSerialization().convertValue(doc, GenericKubernetesResource.class);
        try {
            return client.genericKubernetesResources(TASKBATCHES).inNamespace(namespace).resource(batch).create();
        } catch (KubernetesClientException e) {
            var fromServer = ApiErrors.fromServer(e);
            if (fromServer.isPresent() && fromServer.get().getCode() == 409) {
                throw new ClusterCalls.Failed(ExitCodes.INVALID, "TaskBatch " + namespace + "/" + name + " already exists:"
                        + " delete it first (kubectl delete tb " + name + " -n " + namespace + ") or give this one another name");
            }
            throw ClusterCalls.failed(client, e);
        }
    }
}
