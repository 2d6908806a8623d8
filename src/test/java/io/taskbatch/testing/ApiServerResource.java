package io.taskbatch.testing;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A Quarkus test resource: an {@link ApiServer} holding the committed CRD and the operator's own manifests
 * (Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, Role, RoleBinding documents of every YAML file under
 * {@code k8s/operator/}; Deployments and anything else skipped), and the application's {@code KubernetesClient}
 * configured to talk to it as the operator's ServiceAccount {@code taskbatch-system/taskbatch-operator}, electing
 * itself leader through its Lease in {@code taskbatch-system} as its pod would. Tests act
 * as the user with {@code apiServer.adminClient()} of a field annotated {@link InjectApiServer}.
 */
public class ApiServerResource implements QuarkusTestResourceLifecycleManager {
    public static final Path CRD = Path.of("k8s/crd/taskbatches.taskbatch.io-v1.yml");
    public static final Path OPERATOR_MANIFESTS = Path.of("k8s/operator");
    public static final String OPERATOR_NAMESPACE = "taskbatch-system";
    public static final String OPERATOR_ACCOUNT = "taskbatch-operator";
    /** Applied in this order, so an object's namespace exists before it. */
    static final List<String> KINDS = List.of("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding");
    /** fabric8's own settings, as Quarkus' test server sets them: no kubeconfig, no mounted token of the host. */
    private static final Map<String, String> SYSTEM_PROPERTIES = Map.of("kubernetes.auth.tryKubeConfig", "false",
            "kubernetes.auth.tryServiceAccount", "false", "kubernetes.http2.disable", "true");

    private ApiServer server;
    private final Map<String, String> previous = new HashMap<>();

    @Override
    public Map<String, String> start() {
        server = ApiServer.start();
        KubernetesClient admin = server.adminClient();
        admin.apiextensions().v1().customResourceDefinitions().load(CRD.toFile()).create();
        for (HasMetadata object : operatorManifests(admin)) admin.resource(object).create();
        SYSTEM_PROPERTIES.forEach((k, v) -> previous.put(k, System.setProperty(k, v)));
        Map<String, String> config = new HashMap<>();
        config.put("quarkus.kubernetes-client.api-server-url", server.url());
        config.put("quarkus.kubernetes-client.token", server.token(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT));
        config.put("quarkus.kubernetes-client.trust-certs", "true");
        config.put("quarkus.kubernetes-client.namespace", OPERATOR_NAMESPACE);
        config.put("quarkus.kubernetes-client.devservices.enabled", "false");
        // what the operator's pod gets from the downward API (POD_NAMESPACE): it elects a leader through its Lease,
        // under the Role of k8s/operator, as on a cluster
        config.put("taskbatch.operator.leader-election.lease-namespace", OPERATOR_NAMESPACE);
        return config;
    }

    /** The RBAC-related documents of every YAML file under k8s/operator/, in {@link #KINDS} order. */
    public static List<HasMetadata> operatorManifests(KubernetesClient client) {
        List<HasMetadata> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(OPERATOR_MANIFESTS)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml")).sorted().toList()) {
                try (InputStream in = Files.newInputStream(file)) {
                    for (HasMetadata o : client.load(in).items()) if (KINDS.contains(o.getKind())) out.add(o);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.sort(Comparator.comparingInt(o -> KINDS.indexOf(o.getKind())));
        return out;
    }

    @Override
    public void inject(TestInjector injector) {
        injector.injectIntoFields(server, new TestInjector.AnnotatedAndMatchesType(InjectApiServer.class, ApiServer.class));
    }

    @Override
    public void stop() {
        previous.forEach((k, v) -> {
            if (v == null) System.clearProperty(k);
            else System.setProperty(k, v);
        });
        if (server != null) server.close();
    }
}
