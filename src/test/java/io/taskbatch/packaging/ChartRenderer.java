package io.taskbatch.packaging;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.marcnuri.helm.DryRun;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.InstallCommand;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Renders and lints a chart with helm-java, as {@code helm template} and {@code helm lint} would,
 * against a fake API server whose Secrets the test chooses.
 *
 * <p>Why a child JVM: helm-java's {@code template} does not run Helm in client-only mode, so the
 * chart's {@code lookup} calls go to the cluster of the ambient kubeconfig ({@code $KUBECONFIG},
 * {@code ~/.kube/config}, else localhost:8080) and fail without one. The Go library reads its
 * environment once, when it loads, so the child gets a KUBECONFIG of its own pointing at
 * {@link FakeApi}: renders are hermetic and {@code lookup} can be tested.
 */
final class ChartRenderer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Marks the child's answers on its stdout, so stray output there cannot be taken for one. */
    private static final String ANSWER = "@@chart-renderer@@ ";

    private final FakeApi api;
    private final Process child;
    private final Writer toChild;
    private final BufferedReader fromChild;
    private final Path log;

    private ChartRenderer(FakeApi api, Process child, Path log) {
        this.api = api;
        this.child = child;
        this.log = log;
        this.toChild = child.outputWriter(StandardCharsets.UTF_8);
        this.fromChild = child.inputReader(StandardCharsets.UTF_8);
    }

    static ChartRenderer start(Path dir) throws IOException {
        FakeApi api = FakeApi.start();
        Path kubeconfig = Files.writeString(dir.resolve("kubeconfig"), """
                apiVersion: v1
                kind: Config
                clusters: [{name: fake, cluster: {server: "http://127.0.0.1:%d"}}]
                users: [{name: fake, user: {}}]
                contexts: [{name: fake, context: {cluster: fake, user: fake}}]
                current-context: fake
                """.formatted(api.port()));
        List<String> cmd = List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), ChartRenderer.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd);
        // Nothing of the developer's Helm or Kubernetes setup reaches the child.
        pb.environment().keySet().removeIf(k -> k.startsWith("HELM_") || k.startsWith("KUBE"));
        pb.environment().put("KUBECONFIG", kubeconfig.toString());
        for (String v : List.of("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME")) {
            pb.environment().put(v, Files.createDirectories(dir.resolve(v.toLowerCase())).toString());
        }
        Path log = dir.resolve("chart-renderer.log");
        pb.redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        return new ChartRenderer(api, pb.start(), log);
    }

    /** A Secret that {@code lookup} finds in the fake cluster. */
    void putSecret(String namespace, String name, Map<String, String> stringData) {
        api.secrets.put(namespace + "/" + name, stringData);
    }

    void clearSecrets() {
        api.secrets.clear();
    }

    /** The GET requests the fake API server answered, e.g. {@code /api/v1/namespaces/ns/secrets/x}. */
    List<String> apiRequests() {
        return List.copyOf(api.requests);
    }

    /** One {@code helm template}; throws {@link HelmFailure} with Helm's message when it fails. */
    String template(Render render) throws IOException {
        return ask(JSON.valueToTree(render.op("template"))).path("output").asText();
    }

    /**
     * What {@code helm install --dry-run=client} prints: the release's status and its NOTES.txt
     * (helm-java's template prints neither NOTES nor hooks).
     */
    String installDryRun(Render render) throws IOException {
        return ask(JSON.valueToTree(render.op("notes"))).path("output").asText();
    }

    LintResult lint(Path chart) throws IOException {
        ObjectNode request = JSON.createObjectNode().put("op", "lint").put("chart", chart.toAbsolutePath().toString());
        JsonNode answer = ask(request);
        List<String> messages = new ArrayList<>();
        answer.path("messages").forEach(m -> messages.add(m.asText()));
        return new LintResult(messages, answer.path("failed").asBoolean());
    }

    private synchronized JsonNode ask(JsonNode request) throws IOException {
        toChild.write(JSON.writeValueAsString(request) + "\n");
        toChild.flush();
        for (String line; (line = fromChild.readLine()) != null; ) {
            if (!line.startsWith(ANSWER)) continue;
            JsonNode answer = JSON.readTree(line.substring(ANSWER.length()));
            if (!answer.path("ok").asBoolean()) throw new HelmFailure(answer.path("error").asText());
            return answer;
        }
        throw new IOException("the helm child process ended; its log: " + log + "\n" + Files.readString(log));
    }

    @Override
    public void close() throws IOException {
        toChild.close();
        try {
            if (!child.waitFor(10, TimeUnit.SECONDS)) child.destroyForcibly();
        } catch (InterruptedException e) {
            child.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        api.close();
    }

    /** What to render: release, namespace, values files and --set values, as helm template takes them. */
    record Render(String op, String chart, String release, String namespace, String kubeVersion,
                  List<String> valuesFiles, Map<String, String> set) {
        static Render of(Path chart) {
            return new Render("template", chart.toAbsolutePath().toString(), "taskbatch", "tb-system", "v1.30.0",
                    List.of(), Map.of());
        }

        Render values(Path file) {
            List<String> files = new ArrayList<>(valuesFiles);
            files.add(file.toAbsolutePath().toString());
            return new Render(op, chart, release, namespace, kubeVersion, files, set);
        }

        Render set(String key, String value) {
            Map<String, String> s = new LinkedHashMap<>(set);
            s.put(key, value);
            return new Render(op, chart, release, namespace, kubeVersion, valuesFiles, s);
        }

        Render op(String name) {
            return new Render(name, chart, release, namespace, kubeVersion, valuesFiles, set);
        }

        Render chart(Path dir) {
            return new Render(op, dir.toAbsolutePath().toString(), release, namespace, kubeVersion, valuesFiles, set);
        }

        Render release(String name) {
            return new Render(op, chart, name, namespace, kubeVersion, valuesFiles, set);
        }

        Render kubeVersion(String version) {
            return new Render(op, chart, release, namespace, version, valuesFiles, set);
        }
    }

    static final class HelmFailure extends IOException {
        HelmFailure(String message) {
            super(message);
        }
    }

    /** The child: answers one JSON request per stdin line with one marked JSON line on stdout. */
    public static void main(String[] args) throws IOException {
        PrintStream answers = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err); // whatever else prints goes to the log, not into the answers
        BufferedReader requests = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = requests.readLine()) != null; ) {
            ObjectNode answer = JSON.createObjectNode();
            try {
                JsonNode request = JSON.readTree(line);
                Helm helm = new Helm(Path.of(request.path("chart").asText()));
                if (request.path("op").asText().equals("lint")) {
                    LintResult result = helm.lint().strict().call();
                    answer.put("failed", result.isFailed());
                    result.getMessages().forEach(answer.putArray("messages")::add);
                } else if (request.path("op").asText().equals("notes")) {
                    InstallCommand install = helm.install().withName(request.path("release").asText())
                            .withNamespace(request.path("namespace").asText())
                            .withKubeVersion(request.path("kubeVersion").asText())
                            .dryRun().withDryRunOption(DryRun.CLIENT).clientOnly();
                    for (JsonNode file : request.path("valuesFiles")) install = install.withValuesFile(Path.of(file.asText()));
                    for (var it = request.path("set").properties().iterator(); it.hasNext(); ) {
                        var entry = it.next();
                        install = install.set(entry.getKey(), entry.getValue().asText());
                    }
                    answer.put("output", install.call().getOutput());
                } else {
                    TemplateCommand template = helm.template().withName(request.path("release").asText())
                            .withNamespace(request.path("namespace").asText())
                            .withKubeVersion(request.path("kubeVersion").asText());
                    for (JsonNode file : request.path("valuesFiles")) template = template.withValuesFile(Path.of(file.asText()));
                    for (var it = request.path("set").properties().iterator(); it.hasNext(); ) {
                        var entry = it.next();
                        template = template.set(entry.getKey(), entry.getValue().asText());
                    }
                    answer.put("output", template.call());
                }
                answer.put("ok", true);
            } catch (RuntimeException e) {
                answer.put("ok", false).put("error", String.valueOf(e.getMessage()));
            }
            answers.println(ANSWER + JSON.writeValueAsString(answer));
        }
    }

    /**
     * Just enough of an API server for Helm's {@code lookup} of Secrets: discovery of the core group
     * and GET of one Secret (404 when the test put none there).
     */
    private static final class FakeApi implements AutoCloseable {
        final Map<String, Map<String, String>> secrets = new ConcurrentHashMap<>();
        final List<String> requests = java.util.Collections.synchronizedList(new ArrayList<>());
        private final HttpServer server;

        private FakeApi(HttpServer server) {
            this.server = server;
        }

        static FakeApi start() throws IOException {
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            FakeApi api = new FakeApi(server);
            server.createContext("/", api::handle);
            server.start();
            return api;
        }

        int port() {
            return server.getAddress().getPort();
        }

        private void handle(HttpExchange exchange) throws IOException {
            String path = exchange.getRequestURI().getPath();
            requests.add(exchange.getRequestMethod() + " " + path);
            String[] parts = path.split("/");
            if (!exchange.getRequestMethod().equals("GET")) {
                reply(exchange, 405, status(405, "MethodNotAllowed", "the fake API server only reads"));
            } else if (path.equals("/api")) {
                reply(exchange, 200, Map.of("kind", "APIVersions", "versions", List.of("v1")));
            } else if (path.equals("/apis")) {
                reply(exchange, 200, Map.of("kind", "APIGroupList", "apiVersion", "v1", "groups", List.of()));
            } else if (path.equals("/api/v1")) {
                reply(exchange, 200, Map.of("kind", "APIResourceList", "groupVersion", "v1", "resources", List.of(
                        Map.of("name", "secrets", "singularName", "secret", "namespaced", true, "kind", "Secret",
                                "verbs", List.of("get", "list")))));
            } else if (parts.length == 7 && path.startsWith("/api/v1/namespaces/") && parts[5].equals("secrets")) {
                Map<String, String> data = secrets.get(parts[4] + "/" + parts[6]);
                if (data == null) {
                    reply(exchange, 404, status(404, "NotFound", "secrets \"" + parts[6] + "\" not found"));
                } else {
                    Map<String, String> encoded = new LinkedHashMap<>();
                    data.forEach((k, v) -> encoded.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
                    reply(exchange, 200, Map.of("apiVersion", "v1", "kind", "Secret", "type", "Opaque",
                            "metadata", Map.of("name", parts[6], "namespace", parts[4]), "data", encoded));
                }
            } else {
                reply(exchange, 404, status(404, "NotFound", "the fake API server does not serve " + path));
            }
        }

        private static Map<String, Object> status(int code, String reason, String message) {
            return Map.of("kind", "Status", "apiVersion", "v1", "status", "Failure", "code", code, "reason", reason,
                    "message", message);
        }

        private static void reply(HttpExchange exchange, int code, Object body) throws IOException {
            byte[] bytes = JSON.writeValueAsBytes(body);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(code, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
