package io.taskbatch.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleRef;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.zjsonpatch.JsonPatch;
import io.taskbatch.testing.Authorizer.Attributes;
import io.taskbatch.testing.Authorizer.Decision;
import io.taskbatch.testing.Authorizer.Policy;
import io.taskbatch.testing.Authorizer.UserInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * A test API server that refuses what a real one refuses: the fabric8 mock server (CRUD mode) behind a gate that
 * authenticates bearer tokens (401), authorizes every request with Kubernetes' RBAC rules over the Roles,
 * ClusterRoles and bindings stored in it ({@link Authorizer}; 403 with the API server's own message), prevents
 * privilege escalation through Roles and bindings as the RBAC registry does, and fixes the writes the mock gets
 * wrong:
 * <ul>
 * <li>a PUT (the {@code /status} subresource too) whose {@code metadata.resourceVersion} is not the stored one gets
 * 409 Conflict (the mock accepts a stale PUT to {@code /status});</li>
 * <li>a JSON merge patch ({@code application/merge-patch+json}) is applied per RFC 7386 (objects merge, arrays are
 * replaced whole, null deletes; the mock appends arrays and stores nulls), honours a
 * {@code metadata.resourceVersion} precondition in the patch (409), changes only {@code .status} on the
 * {@code /status} subresource and ignores {@code .status} on the main resource of a custom resource whose CRD has
 * the status subresource; it is stored through the mock as an update.</li>
 * </ul>
 * JSON Patch ({@code application/json-patch+json}) goes to the mock as it is. Server-side apply
 * ({@code application/apply-patch+yaml}) and strategic merge patches stay 415, as the mock answers them.
 *
 * <p>Identities: {@link #adminClient()} is {@code kubernetes-admin} in {@code system:masters} (kubectl as cluster
 * admin); {@link #token(String, String)} mints a token for a ServiceAccount that exists, as a TokenRequest does
 * (and it stops working once that ServiceAccount is deleted or re-created). Every request is recorded in
 * {@link #audit()}, so what a run did can be re-checked against another policy with
 * {@link Authorizer#authorize(Policy, UserInfo, Attributes)}.
 *
 * <p>Pod logs ({@code pods/log}) come from a {@link PodLogs} source such as the {@link Kubelet}: see
 * {@link #servePodLogs}.
 *
 * <p>Not modelled: admission (namespace existence, quotas, pod security), validation, garbage collection, an
 * anonymous user (a request without a token is refused with 401), status subresources of built-in types (the
 * mock stores status changes of a PUT or merge patch to a Job or Pod as sent).
 */
public final class ApiServer implements AutoCloseable {
    public static final String ADMIN = "kubernetes-admin";
    private static final ObjectMapper JSON = Serialization.jsonMapper();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<String> RBAC_RESOURCES = Set.of("roles", "clusterroles", "rolebindings", "clusterrolebindings");
    private static final String MERGE_PATCH = "application/merge-patch+json";

    /**
     * One request: who sent it, what it asked, whether it was allowed, the HTTP code and the refusal's message;
     * for a write of a Role, ClusterRole or binding, the rules it grants (what the escalation check held it to);
     * the further authorizations admission asked for (owner references: delete on the object, update on the
     * owner's finalizers).
     */
    public record AuditEvent(Instant time, UserInfo user, String method, String uri, Attributes attributes,
                             boolean allowed, int code, String reason, List<PolicyRule> granted,
                             List<Attributes> admissionChecks) {
        public String username() {
            return user == null ? "" : user.name();
        }

        public List<String> groups() {
            return user == null ? List.of() : user.groups();
        }

        public String verb() {
            return attributes.verb();
        }

        public String apiGroup() {
            return attributes.apiGroup();
        }

        public String resource() {
            return attributes.resource();
        }

        public String subresource() {
            return attributes.subresource();
        }

        public String namespace() {
            return attributes.namespace();
        }

        public String name() {
            return attributes.name();
        }

        @Override
        public String toString() {
            return username() + " " + attributes + " -> " + code + (allowed ? "" : " " + reason);
        }
    }

    private final KubernetesCrudDispatcher store = new KubernetesCrudDispatcher();
    private final KubernetesMockServer server;
    private final Map<String, Identity> tokens = new ConcurrentHashMap<>();
    private final List<AuditEvent> audit = new CopyOnWriteArrayList<>();
    private final List<KubernetesClient> clients = new CopyOnWriteArrayList<>();
    private final List<PodLogs> podLogs = new CopyOnWriteArrayList<>();
    private final ReentrantLock writes = new ReentrantLock(true);
    private final AtomicLong rbacWrites = new AtomicLong();
    private volatile Policy policy;
    private volatile long policyVersion = -1;
    private final String adminToken;
    private final String url;

    /** A token's identity; a ServiceAccount's token is bound to that account's uid. */
    private record Identity(UserInfo user, String namespace, String serviceAccount, String uid) {
    }

    private ApiServer() {
        server = new KubernetesMockServer(new Context(JSON), new MockWebServer(), new HashMap<>(), new Gate(), false);
        server.init();
        url = server.url("/");
        adminToken = newToken();
        tokens.put(adminToken, new Identity(UserInfo.admin(), null, null, null));
    }

    /** Starts a server on a free local port (plain HTTP). */
    public static ApiServer start() {
        return new ApiServer();
    }

    /** The server's URL, e.g. {@code http://localhost:34567/}. */
    public String url() {
        return url;
    }

    /** A client as {@code kubernetes-admin} (groups {@code system:masters}, {@code system:authenticated}). */
    public KubernetesClient adminClient() {
        return client(adminToken, "default");
    }

    /** The admin's bearer token. */
    public String adminToken() {
        return adminToken;
    }

    /**
     * A new bearer token for {@code system:serviceaccount:NAMESPACE:NAME}, as a TokenRequest would give it.
     *
     * @throws IllegalArgumentException {@code serviceaccounts "NAME" not found} when there is no such ServiceAccount
     */
    public String token(String namespace, String serviceAccount) {
        String uid = serviceAccountUid(namespace, serviceAccount)
                .orElseThrow(() -> new IllegalArgumentException("serviceaccounts " + Authorizer.quote(serviceAccount) + " not found"));
        String token = newToken();
        tokens.put(token, new Identity(UserInfo.serviceAccount(namespace, serviceAccount), namespace, serviceAccount, uid));
        return token;
    }

    /** A client as that ServiceAccount, with its namespace as the default one. */
    public KubernetesClient clientAs(String namespace, String serviceAccount) {
        return client(token(namespace, serviceAccount), namespace);
    }

    /** A bearer token for any user and groups (e.g. to test Group and User subjects); not checked against anything. */
    public String tokenFor(UserInfo user) {
        String token = newToken();
        tokens.put(token, new Identity(user, null, null, null));
        return token;
    }

    /** A client with that token; closed with the server. */
    public KubernetesClient client(String token, String namespace) {
        Config config = new ConfigBuilder(Config.empty()).withMasterUrl(url).withOauthToken(token).withNamespace(namespace)
                .withTrustCerts(true).withHttp2Disable(true).build();
        KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
        clients.add(client);
        return client;
    }

    /** Every request so far, oldest first. */
    public List<AuditEvent> audit() {
        return List.copyOf(audit);
    }

    /** The requests so far that match. */
    public List<AuditEvent> audit(Predicate<AuditEvent> filter) {
        return audit.stream().filter(filter).toList();
    }

    /**
     * The requests {@link #audit()} recorded as allowed that {@code other} would refuse: not authorized, or (a Role
     * or binding written) granting what the writer would no longer hold itself.
     */
    public List<AuditEvent> refusedUnder(Policy other) {
        return audit.stream().filter(AuditEvent::allowed).filter(e -> e.user() != null)
                .filter(e -> !e.user().groups().contains(Authorizer.MASTERS))
                .filter(e -> !Authorizer.authorize(other, e.user(), e.attributes()).allowed()
                        || e.admissionChecks().stream().anyMatch(c -> !Authorizer.authorize(other, e.user(), c).allowed())
                        || !e.granted().isEmpty() && !Authorizer.escalationAuthorized(other, e.user(), e.attributes())
                        && Authorizer.confirmNoEscalation(other, e.user(), e.namespace(), e.granted()).isPresent())
                .toList();
    }

    /** What a Role or ClusterRole grants, or the rules of the role a binding refers to (as stored now). */
    private Optional<List<PolicyRule>> grantedBy(Attributes a, JsonNode candidate) {
        if (a.resource().equals("roles") || a.resource().equals("clusterroles")) return Optional.of(rules(candidate));
        RoleRef ref = JSON.convertValue(candidate.path("roleRef"), RoleRef.class);
        if (ref == null || ref.getKind() == null || ref.getName() == null) return Optional.empty();
        return policy().rulesOf(ref.getKind(), a.namespace(), ref.getName());
    }

    /** The RBAC policy stored now (Roles, ClusterRoles, RoleBindings, ClusterRoleBindings). */
    public Policy policy() {
        long version = rbacWrites.get();
        Policy p = policy;
        if (p != null && policyVersion == version) return p;
        p = new Policy(items("/apis/rbac.authorization.k8s.io/v1/roles", Role.class),
                items("/apis/rbac.authorization.k8s.io/v1/clusterroles", ClusterRole.class),
                items("/apis/rbac.authorization.k8s.io/v1/rolebindings", RoleBinding.class),
                items("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", ClusterRoleBinding.class));
        policy = p;
        policyVersion = version;
        return p;
    }

    @Override
    public void close() {
        clients.forEach(KubernetesClient::close);
        server.destroy();
    }

    // ------------------------------------------------------------------ the gate

    private final class Gate extends Dispatcher {
        @Override
        public MockResponse dispatch(RecordedRequest request) {
            return handle(request);
        }

        @Override
        public void shutdown() {
            store.shutdown();
        }
    }

    private MockResponse handle(RecordedRequest request) {
        String method = request.getMethod();
        String uri = request.getPath();
        Attributes attributes = Authorizer.attributesOf(method, uri);
        Identity identity = authenticate(request.getHeader("Authorization"));
        if (identity == null) {
            return record(null, method, uri, attributes, false,
                    status(401, "Unauthorized", "Unauthorized", null, null, null), "Unauthorized", List.of(), List.of());
        }
        UserInfo user = identity.user();
        Decision decision = user.groups().contains(Authorizer.MASTERS) ? new Decision(true, "")
                : Authorizer.authorize(policy(), user, attributes);
        if (!decision.allowed()) {
            String message = Authorizer.forbiddenStatusMessage(user, attributes, decision.reason());
            return record(user, method, uri, attributes, false, forbidden(attributes, message), message, List.of(), List.of());
        }
        MockResponse response;
        List<PolicyRule> granted = new ArrayList<>();
        List<Attributes> admissionChecks = new ArrayList<>();
        if (!attributes.resourceRequest()) {
            response = nonResource(request, attributes);
        } else if (method.equals("POST") && attributes.apiGroup().equals("authorization.k8s.io")
                && attributes.resource().equals("selfsubjectrulesreviews")) {
            response = rulesReview(request, user);
        } else if (method.equals("GET") && attributes.apiGroup().isEmpty() && attributes.resource().equals("pods")
                && attributes.subresource().equals("log")) {
            response = podLog(attributes);
        } else if (method.equals("GET") || method.equals("HEAD")) {
            response = store.dispatch(request);
        } else {
            writes.lock();
            try {
                response = write(request, user, attributes, granted, admissionChecks);
            } finally {
                if (attributes.apiGroup().equals(Authorizer.RBAC_GROUP)) rbacWrites.incrementAndGet();
                writes.unlock();
            }
        }
        int code = response.code();
        String reason = code >= 400 ? message(response) : "";
        return record(user, method, uri, attributes, code < 400, response, reason, granted, admissionChecks);
    }

    private MockResponse record(UserInfo user, String method, String uri, Attributes attributes, boolean allowed,
                                MockResponse response, String reason, List<PolicyRule> granted,
                                List<Attributes> admissionChecks) {
        audit.add(new AuditEvent(Instant.now(), user, method, uri, attributes, allowed, response.code(), reason,
                List.copyOf(granted), List.copyOf(admissionChecks)));
        return response;
    }

    private Identity authenticate(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) return null;
        Identity id = tokens.get(header.substring(7).trim());
        if (id == null) return null;
        if (id.serviceAccount() != null
                && !serviceAccountUid(id.namespace(), id.serviceAccount()).map(id.uid()::equals).orElse(false)) {
            return null; // a bound token dies with its ServiceAccount
        }
        return id;
    }

    private MockResponse nonResource(RecordedRequest request, Attributes a) {
        String path = a.path();
        if (path.equals("/version") || path.equals("/version/")) {
            return json(200, "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.0\",\"gitCommit\":\"\","
                    + "\"gitTreeState\":\"clean\",\"buildDate\":\"2024-12-11T00:00:00Z\",\"goVersion\":\"go1.23.3\","
                    + "\"compiler\":\"gc\",\"platform\":\"linux/amd64\"}");
        }
        if (path.equals("/") || path.isEmpty()) {
            return json(200, "{\"paths\":[\"/api\",\"/api/v1\",\"/apis\",\"/healthz\",\"/livez\",\"/readyz\",\"/version\"]}");
        }
        if (path.equals("/healthz") || path.equals("/livez") || path.equals("/readyz")) {
            return new MockResponse().setResponseCode(200).setHeader("Content-Type", "text/plain").setBody("ok");
        }
        if (path.equals("/api")) {
            return json(200, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],\"serverAddressByClientCIDRs\":"
                    + "[{\"clientCIDR\":\"0.0.0.0/0\",\"serverAddress\":\"127.0.0.1:" + server.getPort() + "\"}]}");
        }
        return store.dispatch(request);
    }

    // ------------------------------------------------------------------ SelfSubjectRulesReview

    /** {@code POST .../selfsubjectrulesreviews}: the caller's rules in {@code spec.namespace}, not stored. */
    private MockResponse rulesReview(RecordedRequest request, UserInfo user) {
        try {
            ObjectNode review = (ObjectNode) JSON.readTree(request.getBody() == null ? new byte[0] : request.getBody().getBytes());
            String namespace = review.path("spec").path("namespace").asText("");
            review.set("status", JSON.valueToTree(rulesReview(policy(), user, namespace)));
            return json(201, JSON.writeValueAsString(review));
        } catch (IOException | ClassCastException e) {
            return status(400, "BadRequest", "the body of the request could not be read: " + e.getMessage(), null, null, null);
        }
    }

    /**
     * What a SelfSubjectRulesReview answers {@code user} about {@code namespace} under {@code policy}: the rules of
     * every binding that applies there (RBAC's {@code RulesFor}), resource and non-resource apart; {@code incomplete}
     * with the error when a bound role is missing. {@code system:masters} gets {@code *}.
     */
    public static io.fabric8.kubernetes.api.model.authorization.v1.SubjectRulesReviewStatus rulesReview(Policy policy,
                                                                                                       UserInfo user, String namespace) {
        var status = new io.fabric8.kubernetes.api.model.authorization.v1.SubjectRulesReviewStatus();
        List<io.fabric8.kubernetes.api.model.authorization.v1.ResourceRule> resourceRules = new ArrayList<>();
        List<io.fabric8.kubernetes.api.model.authorization.v1.NonResourceRule> nonResourceRules = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        List<PolicyRule> rules = user.groups().contains(Authorizer.MASTERS) ? Authorizer.FULL_AUTHORITY
                : policy.rulesFor(user, namespace, errors);
        for (PolicyRule r : rules) {
            if (r.getNonResourceURLs() != null && !r.getNonResourceURLs().isEmpty()) {
                nonResourceRules.add(new io.fabric8.kubernetes.api.model.authorization.v1.NonResourceRule(
                        r.getNonResourceURLs(), r.getVerbs()));
            } else {
                resourceRules.add(new io.fabric8.kubernetes.api.model.authorization.v1.ResourceRule(r.getApiGroups(),
                        r.getResourceNames() == null ? List.of() : r.getResourceNames(), r.getResources(), r.getVerbs()));
            }
        }
        status.setResourceRules(resourceRules);
        status.setNonResourceRules(nonResourceRules);
        status.setIncomplete(!errors.isEmpty());
        if (!errors.isEmpty()) status.setEvaluationError(String.join(", ", errors));
        return status;
    }

    // ------------------------------------------------------------------ pod logs

    /** Where the kubelet that runs a pod keeps its container's log (stdout and stderr). */
    @FunctionalInterface
    public interface PodLogs {
        /** The log of that pod's container once it has started; empty when this source does not run it (yet). */
        Optional<java.nio.file.Path> containerLog(String namespace, String pod);
    }

    /**
     * Serves {@code GET /api/v1/namespaces/NS/pods/NAME/log} (RBAC: {@code get} on {@code pods/log}) from
     * {@code logs}, e.g. a {@link Kubelet}; undo with the returned handle. As a real API server: 404 for a pod that
     * does not exist, 400 while its container has not started, else the log as {@code text/plain}. The mock cannot
     * stream, so {@code follow=true} gets the log as it is at that moment and then the end, as a real follow stream
     * ends when the connection is cut: clients must read again after the container ended to be sure they have it all.
     */
    public AutoCloseable servePodLogs(PodLogs logs) {
        podLogs.add(logs);
        return () -> podLogs.remove(logs);
    }

    private MockResponse podLog(Attributes a) {
        JsonNode pod = stored("/api/v1/namespaces/" + a.namespace() + "/pods/" + a.name());
        if (pod == null) return notFound(a);
        String container = pod.path("spec").path("containers").path(0).path("name").asText("");
        Optional<java.nio.file.Path> log = podLogs.stream().map(l -> l.containerLog(a.namespace(), a.name()))
                .flatMap(Optional::stream).findFirst();
        if (log.isEmpty()) {
            return status(400, "BadRequest", "container " + Authorizer.quote(container) + " in pod " + Authorizer.quote(a.name())
                    + " is waiting to start: ContainerCreating", null, null, null);
        }
        try {
            return new MockResponse().setResponseCode(200).setHeader("Content-Type", "text/plain")
                    .setBody(java.nio.file.Files.readAllBytes(log.get()));
        } catch (IOException e) {
            return status(500, "InternalError", "cannot read the log of pod " + a.name() + ": " + e.getMessage(), null, null, null);
        }
    }

    // ------------------------------------------------------------------ writes

    /**
     * @param granted         gets the rules a Role, ClusterRole or binding written here grants
     * @param admissionChecks gets the further authorizations admission asked for
     */
    private MockResponse write(RecordedRequest request, UserInfo user, Attributes a, List<PolicyRule> granted,
                               List<Attributes> admissionChecks) {
        String method = request.getMethod();
        byte[] body = request.getBody() == null ? new byte[0] : request.getBody().getBytes();
        String contentType = Objects.requireNonNullElse(request.getHeader("Content-Type"), "");
        JsonNode stored = a.name().isEmpty() ? null : stored(objectPath(a, request.getPath()));
        JsonNode candidate = null; // the object as it would be stored, for the escalation checks
        RecordedRequest forward = request;
        try {
            switch (method) {
                case "POST" -> candidate = JSON.readTree(body);
                case "PUT" -> {
                    if (stored == null) break;
                    candidate = JSON.readTree(body);
                    String rv = candidate.path("metadata").path("resourceVersion").asText("");
                    if (!rv.isEmpty() && !rv.equals(resourceVersion(stored))) return conflict(a);
                }
                case "PATCH" -> {
                    if (contentType.startsWith(MERGE_PATCH)) {
                        if (stored == null) return notFound(a);
                        JsonNode patch = JSON.readTree(body);
                        JsonNode precondition = patch.path("metadata").path("resourceVersion");
                        if (precondition.isTextual() && !precondition.asText().equals(resourceVersion(stored))) return conflict(a);
                        candidate = mergePatched(a, stored, patch);
                        forward = new RecordedRequest(request.getHttpVersion(), HttpMethod.PUT, request.getPath(),
                                request.getHeaders().newBuilder().set("Content-Type", "application/json").build(),
                                new Buffer(JSON.writeValueAsBytes(candidate)));
                    } else if (contentType.startsWith("application/json-patch+json") && stored != null) {
                        try {
                            candidate = JsonPatch.apply(JSON.readTree(body), stored);
                        } catch (RuntimeException invalid) {
                            candidate = null; // the mock answers it
                        }
                    }
                }
                default -> {
                }
            }
        } catch (IOException e) {
            return status(400, "BadRequest", "the body of the request could not be read: " + e.getMessage(), null, null, null);
        }
        if (candidate != null && candidate.isObject() && a.subresource().isEmpty()) {
            Optional<MockResponse> refused = ownerReferences(user, a, stored, candidate, admissionChecks);
            if (refused.isPresent()) return refused.get();
        }
        if (candidate != null && candidate.isObject() && a.apiGroup().equals(Authorizer.RBAC_GROUP)
                && RBAC_RESOURCES.contains(a.resource()) && a.subresource().isEmpty()) {
            grantedBy(a, candidate).ifPresent(granted::addAll);
            Optional<MockResponse> refused = escalation(user, a, stored, candidate);
            if (refused.isPresent()) return refused.get();
        }
        return store.dispatch(forward);
    }

    /** RFC 7386 on the stored object, then the status rules of the subresource (or of the main resource). */
    private JsonNode mergePatched(Attributes a, JsonNode stored, JsonNode patch) {
        JsonNode merged = mergePatch(stored, patch);
        ObjectNode result;
        if (a.subresource().equals("status")) {
            result = stored.deepCopy();
            if (merged.has("status")) result.set("status", merged.get("status"));
            else result.remove("status");
        } else {
            result = merged.isObject() ? (ObjectNode) merged : stored.deepCopy();
            if (a.subresource().isEmpty() && hasStatusSubresource(a)) {
                if (stored.has("status")) result.set("status", stored.get("status"));
                else result.remove("status");
            }
        }
        ObjectNode metadata = result.with("metadata");
        metadata.put("resourceVersion", resourceVersion(stored));
        return result;
    }

    /** RFC 7386 JSON merge patch: objects merge, anything else (arrays too) replaces, null removes. */
    public static JsonNode mergePatch(JsonNode target, JsonNode patch) {
        if (patch == null || !patch.isObject()) return patch == null ? null : patch.deepCopy();
        ObjectNode result = target != null && target.isObject() ? target.deepCopy() : JsonNodeFactory.instance.objectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = patch.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getValue().isNull()) {
                result.remove(field.getKey());
            } else {
                result.set(field.getKey(), mergePatch(result.get(field.getKey()), field.getValue()));
            }
        }
        return result;
    }

    private boolean hasStatusSubresource(Attributes a) {
        if (a.apiGroup().isEmpty() || !a.apiGroup().contains(".")) return false; // built-in groups: as the mock does
        JsonNode crd = stored("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + a.resource() + "." + a.apiGroup());
        if (crd == null) return false;
        for (JsonNode v : crd.path("spec").path("versions")) {
            if (v.path("name").asText().equals(a.apiVersion())) return v.path("subresources").has("status");
        }
        return false;
    }

    /**
     * The OwnerReferencesPermissionEnforcement admission plugin (on by default in OpenShift and many hardened
     * clusters): changing an object's ownerReferences needs {@code delete} on the object, and a new reference
     * with {@code blockOwnerDeletion} needs {@code update} on the owner's {@code finalizers} subresource. Owners
     * are resolved through the CRDs stored here; references to built-in kinds are not checked.
     */
    private Optional<MockResponse> ownerReferences(UserInfo user, Attributes a, JsonNode stored, JsonNode candidate,
                                                   List<Attributes> checks) {
        if (user.groups().contains(Authorizer.MASTERS)) return Optional.empty();
        Set<JsonNode> before = new java.util.HashSet<>();
        if (stored != null) stored.path("metadata").path("ownerReferences").forEach(before::add);
        Set<JsonNode> after = new java.util.HashSet<>();
        candidate.path("metadata").path("ownerReferences").forEach(after::add);
        if (before.equals(after)) return Optional.empty();
        String name = candidate.path("metadata").path("name").asText(a.name());
        Policy p = policy();
        Attributes delete = new Attributes(true, "delete", a.apiGroup(), a.apiVersion(), a.resource(), "", a.namespace(), name, "");
        checks.add(delete);
        Decision canDelete = Authorizer.authorize(p, user, delete);
        if (!canDelete.allowed()) {
            return Optional.of(status(403, "Forbidden", Authorizer.newForbiddenMessage(a.apiGroup(), a.resource(), name,
                    "cannot set an ownerRef on a resource you can't delete: " + canDelete.reason() + ", <nil>"),
                    name, a.apiGroup(), a.resource()));
        }
        for (JsonNode ref : after) {
            if (before.contains(ref) || !ref.path("blockOwnerDeletion").asBoolean(false)) continue;
            String apiVersion = ref.path("apiVersion").asText();
            String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
            String version = apiVersion.substring(apiVersion.indexOf('/') + 1);
            Optional<String> plural = customResourcePlural(group, ref.path("kind").asText());
            if (plural.isEmpty()) continue;
            Attributes finalizers = new Attributes(true, "update", group, version, plural.get(), "finalizers", a.namespace(),
                    ref.path("name").asText(), "");
            checks.add(finalizers);
            Decision canBlock = Authorizer.authorize(p, user, finalizers);
            if (!canBlock.allowed()) {
                return Optional.of(status(403, "Forbidden", Authorizer.newForbiddenMessage(a.apiGroup(), a.resource(), name,
                        "cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: "
                                + canBlock.reason() + ", <nil>"), name, a.apiGroup(), a.resource()));
            }
        }
        return Optional.empty();
    }

    private Optional<String> customResourcePlural(String group, String kind) {
        if (!group.contains(".")) return Optional.empty();
        for (CustomResourceDefinition crd : items("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                CustomResourceDefinition.class)) {
            if (crd.getSpec().getGroup().equals(group) && crd.getSpec().getNames().getKind().equals(kind)) {
                return Optional.of(crd.getSpec().getNames().getPlural());
            }
        }
        return Optional.empty();
    }

    /** The escalation checks of the RBAC registry on a Role, ClusterRole or binding about to be stored. */
    private Optional<MockResponse> escalation(UserInfo user, Attributes a, JsonNode stored, JsonNode candidate) {
        if (user.groups().contains(Authorizer.MASTERS)) return Optional.empty(); // rbac.EscalationAllowed
        Policy p = policy();
        String name = candidate.path("metadata").path("name").asText(a.name());
        if (stored != null && onlyGcFieldsChange(stored, candidate)) return Optional.empty();
        if (a.resource().equals("roles") || a.resource().equals("clusterroles")) {
            if (Authorizer.escalationAuthorized(p, user, a)) return Optional.empty();
            List<PolicyRule> rules = rules(candidate);
            Optional<String> refused = Authorizer.confirmNoEscalation(p, user, a.namespace(), rules);
            if (refused.isPresent()) return Optional.of(forbiddenRbac(a.resource(), name, refused.get()));
            if (a.resource().equals("clusterroles") && candidate.hasNonNull("aggregationRule")
                    && Authorizer.confirmNoEscalation(p, user, a.namespace(), Authorizer.FULL_AUTHORITY).isPresent()) {
                return Optional.of(forbiddenRbac(a.resource(), name, "must have cluster-admin privileges to use the aggregationRule"));
            }
            return Optional.empty();
        }
        RoleRef ref = JSON.convertValue(candidate.path("roleRef"), RoleRef.class);
        if (ref == null || ref.getKind() == null || ref.getName() == null) return Optional.empty(); // validation's part
        if (Authorizer.bindingAuthorized(p, user, ref, a.namespace())) return Optional.empty();
        Optional<List<PolicyRule>> rules = p.rulesOf(ref.getKind(), a.namespace(), ref.getName());
        if (rules.isEmpty()) {
            String resource = ref.getKind().equals("Role") ? "roles" : "clusterroles";
            return Optional.of(status(404, "NotFound", Authorizer.groupResource(Authorizer.RBAC_GROUP, resource) + " "
                    + Authorizer.quote(ref.getName()) + " not found", ref.getName(), Authorizer.RBAC_GROUP, resource));
        }
        return Authorizer.confirmNoEscalation(p, user, a.namespace(), rules.get()).map(m -> forbiddenRbac(a.resource(), name, m));
    }

    /** {@code IsOnlyMutatingGCFields}: only ownerReferences and finalizers differ. */
    private static boolean onlyGcFieldsChange(JsonNode stored, JsonNode candidate) {
        ObjectNode s = stored.deepCopy();
        ObjectNode c = candidate.deepCopy();
        for (ObjectNode o : List.of(s, c)) {
            ObjectNode m = o.with("metadata");
            for (String f : List.of("ownerReferences", "finalizers", "resourceVersion", "managedFields", "generation",
                    "creationTimestamp", "uid", "namespace")) {
                m.remove(f);
            }
            o.remove("status");
        }
        return s.equals(c);
    }

    private static List<PolicyRule> rules(JsonNode role) {
        List<PolicyRule> rules = new ArrayList<>();
        for (JsonNode r : role.path("rules")) rules.add(JSON.convertValue(r, PolicyRule.class));
        return rules;
    }

    // ------------------------------------------------------------------ the store

    private static String objectPath(Attributes a, String uri) {
        String path = uri.contains("?") ? uri.substring(0, uri.indexOf('?')) : uri;
        if (!a.subresource().isEmpty() && path.endsWith("/" + a.subresource())) {
            path = path.substring(0, path.length() - a.subresource().length() - 1);
        }
        return path;
    }

    private JsonNode stored(String path) {
        MockResponse r = store.handleGet(path);
        if (r.code() != 200) return null;
        try {
            JsonNode node = JSON.readTree(r.getBody().getBytes());
            return node.isObject() && node.has("metadata") ? node : null;
        } catch (IOException e) {
            return null;
        }
    }

    private Optional<String> serviceAccountUid(String namespace, String name) {
        return Optional.ofNullable(stored("/api/v1/namespaces/" + namespace + "/serviceaccounts/" + name))
                .map(n -> n.path("metadata").path("uid").asText(""));
    }

    private <T> List<T> items(String path, Class<T> type) {
        MockResponse r = store.handleGet(path);
        List<T> out = new ArrayList<>();
        try {
            for (JsonNode item : JSON.readTree(r.getBody().getBytes()).path("items")) out.add(JSON.treeToValue(item, type));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + path, e);
        }
        return out;
    }

    private static String resourceVersion(JsonNode object) {
        return object.path("metadata").path("resourceVersion").asText("");
    }

    // ------------------------------------------------------------------ responses

    private static MockResponse forbidden(Attributes a, String message) {
        return status(403, "Forbidden", message, a.resourceRequest() ? a.name() : null,
                a.resourceRequest() ? a.apiGroup() : null, a.resourceRequest() ? a.resource() : null);
    }

    private static MockResponse forbiddenRbac(String resource, String name, String err) {
        return status(403, "Forbidden", Authorizer.newForbiddenMessage(Authorizer.RBAC_GROUP, resource, name, err),
                name, Authorizer.RBAC_GROUP, resource);
    }

    private static MockResponse conflict(Attributes a) {
        return status(409, "Conflict", "Operation cannot be fulfilled on " + Authorizer.groupResource(a.apiGroup(), a.resource())
                + " " + Authorizer.quote(a.name()) + ": the object has been modified; please apply your changes to the latest version and try again",
                a.name(), a.apiGroup(), a.resource());
    }

    private static MockResponse notFound(Attributes a) {
        return status(404, "NotFound", Authorizer.groupResource(a.apiGroup(), a.resource()) + " " + Authorizer.quote(a.name())
                + " not found", a.name(), a.apiGroup(), a.resource());
    }

    /** A {@code metav1.Status} failure as the API server writes it (empty details fields left out). */
    static MockResponse status(int code, String reason, String message, String name, String group, String kind) {
        ObjectNode s = JSON.createObjectNode();
        s.put("kind", "Status");
        s.put("apiVersion", "v1");
        s.set("metadata", JSON.createObjectNode());
        s.put("status", "Failure");
        s.put("message", message);
        s.put("reason", reason);
        ObjectNode details = JSON.createObjectNode();
        if (name != null && !name.isEmpty()) details.put("name", name);
        if (group != null && !group.isEmpty()) details.put("group", group);
        if (kind != null && !kind.isEmpty()) details.put("kind", kind);
        if (!details.isEmpty()) s.set("details", details);
        s.put("code", code);
        return json(code, s.toString());
    }

    private static MockResponse json(int code, String body) {
        return new MockResponse().setResponseCode(code).setHeader("Content-Type", "application/json").setBody(body);
    }

    private static String message(MockResponse response) {
        try {
            Buffer body = response.getBody();
            if (body == null) return "";
            JsonNode node = JSON.readTree(body.getBytes());
            return node.path("message").asText("");
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private static String newToken() {
        byte[] b = new byte[24];
        RANDOM.nextBytes(b);
        return java.util.HexFormat.of().formatHex(b);
    }
}
