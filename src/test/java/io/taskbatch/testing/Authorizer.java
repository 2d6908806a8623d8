package io.taskbatch.testing;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.fabric8.kubernetes.api.model.rbac.AggregationRule;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleRef;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Kubernetes' RBAC authorizer, as a pure function of a {@link Policy} snapshot: the same request attributes
 * (apiserver's {@code RequestInfoFactory}), the same rule matching ({@code rbac.RuleAllows}: verbs, apiGroups,
 * resources {@code res}, {@code res/sub}, {@code *}, <code>&#42;/sub</code>, resourceNames never matching a request without a
 * name), the same bindings (a RoleBinding grants only in its own namespace, also when it references a ClusterRole;
 * subjects User, Group and ServiceAccount), the {@code system:masters} bypass, the default discovery bindings
 * ({@code system:discovery}, {@code system:public-info-viewer}, {@code system:basic-user}) and the privilege
 * escalation checks of the RBAC registry ({@code ConfirmNoEscalation}, {@code escalate}, {@code bind}), with the
 * API server's own message texts.
 *
 * <p>Aggregated ClusterRoles: the rules of a ClusterRole with an {@code aggregationRule} are those of the
 * ClusterRoles its selectors match (matchLabels and matchExpressions), as the aggregation controller would write
 * them.
 *
 * <p>To prove that a permission is needed, re-check what a run did against a policy with one verb less:
 * {@code Authorizer.authorize(policy.withoutVerb("Role", ns, name, "patch"), e.user(), e.attributes())} for each
 * {@link ApiServer.AuditEvent} {@code e} that was allowed.
 */
public final class Authorizer {
    public static final String MASTERS = "system:masters";
    public static final String AUTHENTICATED = "system:authenticated";
    public static final String RBAC_GROUP = "rbac.authorization.k8s.io";
    static final String SA_PREFIX = "system:serviceaccount:";

    private Authorizer() {
    }

    /** Who sends a request, as the authenticator tells it. */
    public record UserInfo(String name, List<String> groups) {
        public UserInfo {
            groups = List.copyOf(groups);
        }

        public static UserInfo admin() {
            return new UserInfo("kubernetes-admin", List.of(MASTERS, AUTHENTICATED));
        }

        public static UserInfo serviceAccount(String namespace, String name) {
            return new UserInfo(SA_PREFIX + namespace + ":" + name,
                    List.of("system:serviceaccounts", "system:serviceaccounts:" + namespace, AUTHENTICATED));
        }

        public static UserInfo user(String name, String... groups) {
            List<String> all = new ArrayList<>(List.of(groups));
            if (!all.contains(AUTHENTICATED)) all.add(AUTHENTICATED);
            return new UserInfo(name, all);
        }
    }

    /**
     * A request as the authorizer sees it ({@code authorizer.Attributes}): a resource request has a verb, apiGroup,
     * apiVersion, resource, subresource, namespace and name; a non-resource request a verb and a path.
     */
    public record Attributes(boolean resourceRequest, String verb, String apiGroup, String apiVersion, String resource,
                             String subresource, String namespace, String name, String path) {
        public Attributes {
            apiGroup = nz(apiGroup);
            apiVersion = nz(apiVersion);
            resource = nz(resource);
            subresource = nz(subresource);
            namespace = nz(namespace);
            name = nz(name);
            path = nz(path);
        }

        public static Attributes resource(String verb, String apiGroup, String resource, String namespace, String name) {
            String sub = "";
            int slash = resource.indexOf('/');
            if (slash > 0) {
                sub = resource.substring(slash + 1);
                resource = resource.substring(0, slash);
            }
            return new Attributes(true, verb, apiGroup, "*", resource, sub, namespace, name, "");
        }

        public static Attributes nonResource(String verb, String path) {
            return new Attributes(false, verb, "", "", "", "", "", "", path);
        }

        /** {@code resource} or {@code resource/subresource}. */
        public String combinedResource() {
            return subresource.isEmpty() ? resource : resource + "/" + subresource;
        }

        @Override
        public String toString() {
            if (!resourceRequest) return verb + " " + path;
            return verb + " " + combinedResource() + (apiGroup.isEmpty() ? "" : "." + apiGroup)
                    + (name.isEmpty() ? "" : " \"" + name + "\"")
                    + (namespace.isEmpty() ? " (cluster)" : " in " + namespace);
        }
    }

    /** The outcome: allowed or not, and the RBAC reason (set when a binding's role could not be found). */
    public record Decision(boolean allowed, String reason) {
    }

    // ------------------------------------------------------------------ request attributes

    private static final Set<String> API_PREFIXES = Set.of("api", "apis");
    private static final Set<String> NAMESPACE_SUBRESOURCES = Set.of("status", "finalize");

    /**
     * The attributes of an HTTP request, as the API server's {@code RequestInfoFactory} derives them.
     *
     * @param pathAndQuery the request target, e.g. {@code /apis/batch/v1/namespaces/x/jobs?watch=true}
     */
    public static Attributes attributesOf(String method, String pathAndQuery) {
        String path = pathAndQuery;
        String query = "";
        int q = pathAndQuery.indexOf('?');
        if (q >= 0) {
            path = pathAndQuery.substring(0, q);
            query = pathAndQuery.substring(q + 1);
        }
        String verb = switch (method.toUpperCase()) {
            case "POST" -> "create";
            case "GET", "HEAD" -> "get";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "DELETE" -> "delete";
            default -> "";
        };
        List<String> parts = Stream.of(path.split("/")).filter(s -> !s.isEmpty()).toList();
        String nonResourceVerb = method.equalsIgnoreCase("HEAD") ? "get" : method.toLowerCase();
        if (parts.size() < 3 || !API_PREFIXES.contains(parts.get(0))) {
            return Attributes.nonResource(nonResourceVerb, path);
        }
        List<String> rest = parts.subList(1, parts.size());
        String group = "";
        if (parts.get(0).equals("apis")) {
            if (rest.size() < 3) return Attributes.nonResource(nonResourceVerb, path);
            group = rest.get(0);
            rest = rest.subList(1, rest.size());
        }
        String version = rest.get(0);
        rest = rest.subList(1, rest.size());
        if (rest.get(0).equals("watch") || rest.get(0).equals("proxy")) {
            if (rest.size() < 2) return Attributes.nonResource(nonResourceVerb, path); // the API server answers 400 here
            verb = rest.get(0);
            rest = rest.subList(1, rest.size());
        }
        String namespace = "";
        if (rest.get(0).equals("namespaces")) {
            if (rest.size() > 1) {
                namespace = rest.get(1);
                if (rest.size() > 2 && !NAMESPACE_SUBRESOURCES.contains(rest.get(2))) rest = rest.subList(2, rest.size());
            }
        }
        String resource = rest.get(0);
        String name = rest.size() >= 2 ? rest.get(1) : "";
        String subresource = rest.size() >= 3 && !verb.equals("proxy") ? rest.get(2) : "";
        if (name.isEmpty() && verb.equals("get")) {
            Map<String, String> params = query(query);
            verb = parseBool(params.get("watch")) ? "watch" : "list";
            String selector = params.get("fieldSelector");
            if (selector != null) {
                for (String term : selector.split(",")) {
                    String t = term.trim();
                    String value = t.startsWith("metadata.name==") ? t.substring("metadata.name==".length())
                            : t.startsWith("metadata.name=") ? t.substring("metadata.name=".length()) : null;
                    if (value != null && !value.isEmpty() && !value.contains("/") && !value.equals(".") && !value.equals("..")
                            && !value.contains("%")) {
                        name = value;
                    }
                }
            }
        }
        if (name.isEmpty() && verb.equals("delete")) verb = "deletecollection";
        return new Attributes(true, verb, group, version, resource, subresource, namespace, name, path);
    }

    private static Map<String, String> query(String query) {
        Map<String, String> out = new LinkedHashMap<>();
        if (query.isEmpty()) return out;
        for (String kv : query.split("&")) {
            int eq = kv.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
            out.putIfAbsent(k, v);
        }
        return out;
    }

    /** Go's strconv.ParseBool, as the API server's query decoding uses it. */
    private static boolean parseBool(String s) {
        return s != null && Set.of("1", "t", "T", "TRUE", "true", "True").contains(s);
    }

    // ------------------------------------------------------------------ authorization

    /** The request allowed or not: the union of the privileged-group bypass and RBAC over {@code policy}. */
    public static Decision authorize(Policy policy, UserInfo user, Attributes attributes) {
        if (user.groups().contains(MASTERS)) return new Decision(true, "");
        List<String> errors = new ArrayList<>();
        boolean allowed = policy.visitRules(user, attributes.namespace(), rule -> ruleAllows(attributes, rule), errors);
        String reason = errors.isEmpty() ? "" : "RBAC: " + aggregate(errors);
        return new Decision(allowed, reason);
    }

    /** Go's utilerrors.Aggregate text: one error as it is, several as {@code [a, b]}. */
    private static String aggregate(List<String> errors) {
        return errors.size() == 1 ? errors.get(0) : "[" + String.join(", ", errors) + "]";
    }

    /** {@code rbac.RuleAllows}. */
    public static boolean ruleAllows(Attributes a, PolicyRule rule) {
        if (a.resourceRequest()) {
            return verbMatches(rule, a.verb()) && apiGroupMatches(rule, a.apiGroup())
                    && resourceMatches(rule, a.combinedResource(), a.subresource()) && resourceNameMatches(rule, a.name());
        }
        return verbMatches(rule, a.verb()) && nonResourceUrlMatches(rule, a.path());
    }

    static boolean verbMatches(PolicyRule rule, String verb) {
        return list(rule.getVerbs()).stream().anyMatch(v -> v.equals("*") || v.equals(verb));
    }

    static boolean apiGroupMatches(PolicyRule rule, String group) {
        return list(rule.getApiGroups()).stream().anyMatch(g -> g.equals("*") || g.equals(group));
    }

    static boolean resourceMatches(PolicyRule rule, String combined, String subresource) {
        for (String r : list(rule.getResources())) {
            if (r.equals("*") || r.equals(combined)) return true;
            if (!subresource.isEmpty() && r.length() == subresource.length() + 2 && r.startsWith("*/") && r.endsWith(subresource)) {
                return true;
            }
        }
        return false;
    }

    static boolean resourceNameMatches(PolicyRule rule, String name) {
        List<String> names = list(rule.getResourceNames());
        return names.isEmpty() || names.contains(name);
    }

    static boolean nonResourceUrlMatches(PolicyRule rule, String path) {
        for (String u : list(rule.getNonResourceURLs())) {
            if (u.equals("*") || u.equals(path)) return true;
            if (u.endsWith("*") && path.startsWith(u.replaceAll("\\*+$", ""))) return true;
        }
        return false;
    }

    // ------------------------------------------------------------------ messages

    /** {@code responsewriters.forbiddenMessage}. */
    public static String forbiddenMessage(UserInfo user, Attributes a) {
        String username = user == null ? "" : user.name();
        if (!a.resourceRequest()) {
            return "User " + quote(username) + " cannot " + a.verb() + " path " + quote(a.path());
        }
        if (!a.namespace().isEmpty()) {
            return "User " + quote(username) + " cannot " + a.verb() + " resource " + quote(a.combinedResource())
                    + " in API group " + quote(a.apiGroup()) + " in the namespace " + quote(a.namespace());
        }
        return "User " + quote(username) + " cannot " + a.verb() + " resource " + quote(a.combinedResource())
                + " in API group " + quote(a.apiGroup()) + " at the cluster scope";
    }

    /**
     * The message of the API server's 403 ({@code responsewriters.Forbidden} through {@code apierrors.NewForbidden}):
     * {@code GROUPRESOURCE "NAME" is forbidden: User "..." cannot VERB resource "..." in API group "..." ...}.
     */
    public static String forbiddenStatusMessage(UserInfo user, Attributes a, String reason) {
        String msg = sanitize(forbiddenMessage(user, a));
        String err = reason == null || reason.isEmpty() ? msg : msg + ": " + reason;
        return newForbiddenMessage(a.resourceRequest() ? a.apiGroup() : "", a.resourceRequest() ? a.resource() : "", a.name(), err);
    }

    /** {@code apierrors.NewForbidden(qualifiedResource, name, err)}'s message. */
    public static String newForbiddenMessage(String group, String resource, String name, String err) {
        String qualified = groupResource(group, resource);
        if (qualified.isEmpty()) return "forbidden: " + err;
        if (name == null || name.isEmpty()) return qualified + " is forbidden: " + err;
        return qualified + " " + quote(name) + " is forbidden: " + err;
    }

    /** {@code schema.GroupResource.String()}: {@code resource.group}, or {@code resource} for the core group. */
    public static String groupResource(String group, String resource) {
        if (group == null || group.isEmpty()) return resource == null ? "" : resource;
        return resource + "." + group;
    }

    private static String sanitize(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    /** Go's {@code %q} for the plain strings Kubernetes names are. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> b.append(c);
            }
        }
        return b.append('"').toString();
    }

    /** Go's {@code %q} of a {@code []string}: {@code ["a" "b"]}. */
    static String quoteList(List<String> list) {
        return list.stream().map(Authorizer::quote).collect(Collectors.joining(" ", "[", "]"));
    }

    // ------------------------------------------------------------------ escalation

    /** A refused grant: the message of the API server's {@code ConfirmNoEscalation}, or empty when covered. */
    public static Optional<String> confirmNoEscalation(Policy policy, UserInfo user, String namespace, List<PolicyRule> rules) {
        List<String> errors = new ArrayList<>();
        List<PolicyRule> owner = policy.rulesFor(user, namespace, errors);
        List<PolicyRule> missing = missing(owner, rules);
        if (missing.isEmpty()) return Optional.empty();
        Set<String> descriptions = new TreeSet<>(); // sets.NewString().List(): sorted
        for (PolicyRule r : compact(missing)) descriptions.add(compactString(r));
        String msg = "user " + quote(user.name()) + " (groups=" + quoteList(user.groups())
                + ") is attempting to grant RBAC permissions not currently held:\n" + String.join("\n", descriptions);
        if (!errors.isEmpty()) msg += "; resolution errors: [" + String.join(" ", errors) + "]";
        return Optional.of(msg);
    }

    /** {@code validation.Covers}: the sub-rules (one group, resource, verb, name each) of {@code rules} not covered. */
    public static List<PolicyRule> missing(List<PolicyRule> ownerRules, List<PolicyRule> rules) {
        List<PolicyRule> uncovered = new ArrayList<>();
        for (PolicyRule rule : rules) {
            for (PolicyRule sub : breakdown(rule)) {
                if (ownerRules.stream().noneMatch(o -> ruleCovers(o, sub))) uncovered.add(sub);
            }
        }
        return uncovered;
    }

    private static List<PolicyRule> breakdown(PolicyRule rule) {
        List<PolicyRule> out = new ArrayList<>();
        for (String group : list(rule.getApiGroups())) {
            for (String resource : list(rule.getResources())) {
                for (String verb : list(rule.getVerbs())) {
                    if (!list(rule.getResourceNames()).isEmpty()) {
                        for (String n : rule.getResourceNames()) {
                            out.add(new PolicyRuleBuilder().withApiGroups(group).withResources(resource).withVerbs(verb)
                                    .withResourceNames(n).build());
                        }
                    } else {
                        out.add(new PolicyRuleBuilder().withApiGroups(group).withResources(resource).withVerbs(verb).build());
                    }
                }
            }
        }
        for (String url : list(rule.getNonResourceURLs())) {
            for (String verb : list(rule.getVerbs())) {
                out.add(new PolicyRuleBuilder().withNonResourceURLs(url).withVerbs(verb).build());
            }
        }
        return out;
    }

    private static boolean ruleCovers(PolicyRule owner, PolicyRule sub) {
        boolean verbs = list(owner.getVerbs()).contains("*") || list(owner.getVerbs()).containsAll(list(sub.getVerbs()));
        boolean groups = list(owner.getApiGroups()).contains("*") || list(owner.getApiGroups()).containsAll(list(sub.getApiGroups()));
        boolean resources = resourceCoversAll(list(owner.getResources()), list(sub.getResources()));
        boolean urls = list(sub.getNonResourceURLs()).stream().allMatch(p -> list(owner.getNonResourceURLs()).stream()
                .anyMatch(o -> o.equals(p) || o.endsWith("*") && p.startsWith(o.replaceAll("\\*+$", ""))));
        List<String> ownerNames = list(owner.getResourceNames());
        List<String> subNames = list(sub.getResourceNames());
        boolean names = subNames.isEmpty() ? ownerNames.isEmpty() : ownerNames.isEmpty() || ownerNames.containsAll(subNames);
        return verbs && groups && resources && names && urls;
    }

    private static boolean resourceCoversAll(List<String> set, List<String> covers) {
        if (set.contains("*") || set.containsAll(covers)) return true;
        for (String path : covers) {
            if (set.contains(path)) continue;
            if (!path.contains("/")) return false;
            if (!set.contains("*/" + path.split("/", 2)[1])) return false;
        }
        return true;
    }

    /** {@code validation.CompactRules}: simple rules (one group, one resource, verbs only) of one resource merged. */
    private static List<PolicyRule> compact(List<PolicyRule> rules) {
        List<PolicyRule> out = new ArrayList<>();
        Map<String, PolicyRule> simple = new LinkedHashMap<>();
        for (PolicyRule r : rules) {
            boolean isSimple = list(r.getResourceNames()).isEmpty() && list(r.getNonResourceURLs()).isEmpty()
                    && list(r.getApiGroups()).size() == 1 && list(r.getResources()).size() == 1;
            if (isSimple) {
                String key = r.getApiGroups().get(0) + "\u0000" + r.getResources().get(0);
                PolicyRule existing = simple.get(key);
                if (existing == null) {
                    simple.put(key, new PolicyRuleBuilder(r).withVerbs(new ArrayList<>(list(r.getVerbs()))).build());
                } else {
                    List<String> verbs = new ArrayList<>(list(existing.getVerbs()));
                    verbs.addAll(list(r.getVerbs()));
                    existing.setVerbs(verbs);
                }
            } else {
                out.add(r);
            }
        }
        out.addAll(simple.values());
        return out;
    }

    /** {@code rbacv1helpers.CompactString}. */
    public static String compactString(PolicyRule r) {
        List<String> parts = new ArrayList<>();
        if (!list(r.getApiGroups()).isEmpty()) parts.add("APIGroups:" + quoteList(r.getApiGroups()));
        if (!list(r.getResources()).isEmpty()) parts.add("Resources:" + quoteList(r.getResources()));
        if (!list(r.getNonResourceURLs()).isEmpty()) parts.add("NonResourceURLs:" + quoteList(r.getNonResourceURLs()));
        if (!list(r.getResourceNames()).isEmpty()) parts.add("ResourceNames:" + quoteList(r.getResourceNames()));
        if (!list(r.getVerbs()).isEmpty()) parts.add("Verbs:" + quoteList(r.getVerbs()));
        return "{" + String.join(", ", parts) + "}";
    }

    /** Everything: what an aggregationRule needs ({@code fullAuthority} in the ClusterRole registry). */
    static final List<PolicyRule> FULL_AUTHORITY = List.of(
            new PolicyRuleBuilder().withVerbs("*").withApiGroups("*").withResources("*").build(),
            new PolicyRuleBuilder().withVerbs("*").withNonResourceURLs("*").build());

    /** {@code rbac.BindingAuthorized}: {@code bind} on the referenced role, in the binding's namespace. */
    public static boolean bindingAuthorized(Policy policy, UserInfo user, RoleRef ref, String bindingNamespace) {
        String resource = switch (ref.getKind()) {
            case "ClusterRole" -> "clusterroles";
            case "Role" -> "roles";
            default -> null;
        };
        if (resource == null) return false;
        Attributes a = new Attributes(true, "bind", nz(ref.getApiGroup()), "", resource, "", bindingNamespace, ref.getName(), "");
        return authorize(policy, user, a).allowed();
    }

    /** {@code rbac.RoleEscalationAuthorized}: {@code escalate} on the role resource of the request. */
    public static boolean escalationAuthorized(Policy policy, UserInfo user, Attributes request) {
        Attributes a = new Attributes(true, "escalate", request.apiGroup(), "*", request.resource(), "", request.namespace(),
                request.name(), "");
        return authorize(policy, user, a).allowed();
    }

    // ------------------------------------------------------------------ the policy

    /**
     * Roles, ClusterRoles and their bindings at one moment, plus Kubernetes' default discovery bindings. Aggregated
     * ClusterRoles get the rules of the ClusterRoles their aggregationRule selects.
     */
    public static final class Policy {
        private final List<Role> roles;
        private final List<ClusterRole> clusterRoles;
        private final List<RoleBinding> roleBindings;
        private final List<ClusterRoleBinding> clusterRoleBindings;
        private final Map<String, Role> roleByKey = new LinkedHashMap<>();
        private final Map<String, ClusterRole> clusterRoleByName = new LinkedHashMap<>();
        private final Map<String, List<PolicyRule>> aggregated = new LinkedHashMap<>();

        public Policy(Collection<Role> roles, Collection<ClusterRole> clusterRoles, Collection<RoleBinding> roleBindings,
                      Collection<ClusterRoleBinding> clusterRoleBindings) {
            this.roles = List.copyOf(roles);
            this.roleBindings = List.copyOf(roleBindings);
            List<ClusterRole> crs = new ArrayList<>(clusterRoles);
            List<ClusterRoleBinding> crbs = new ArrayList<>(clusterRoleBindings);
            addBootstrap(crs, crbs);
            this.clusterRoles = List.copyOf(crs);
            this.clusterRoleBindings = List.copyOf(crbs);
            this.roles.forEach(r -> roleByKey.put(r.getMetadata().getNamespace() + "/" + r.getMetadata().getName(), r));
            this.clusterRoles.forEach(r -> clusterRoleByName.put(r.getMetadata().getName(), r));
            for (ClusterRole cr : this.clusterRoles) {
                AggregationRule agg = cr.getAggregationRule();
                if (agg == null || agg.getClusterRoleSelectors() == null) continue;
                Set<PolicyRule> rules = new LinkedHashSet<>();
                for (ClusterRole other : this.clusterRoles) {
                    if (other == cr) continue;
                    Map<String, String> labels = Objects.requireNonNullElse(other.getMetadata().getLabels(), Map.of());
                    if (agg.getClusterRoleSelectors().stream().anyMatch(s -> selects(s, labels))) {
                        rules.addAll(list(other.getRules()));
                    }
                }
                aggregated.put(cr.getMetadata().getName(), List.copyOf(rules));
            }
        }

        public static Policy empty() {
            return new Policy(List.of(), List.of(), List.of(), List.of());
        }

        private static final String BOOTSTRAP = "kubernetes.io/bootstrapping";

        /** The default ClusterRoles and bindings every cluster has for discovery, unless the policy names them. */
        private static void addBootstrap(List<ClusterRole> crs, List<ClusterRoleBinding> crbs) {
            Map<String, PolicyRule> defaults = new LinkedHashMap<>();
            defaults.put("system:discovery", new PolicyRuleBuilder().withVerbs("get").withNonResourceURLs(
                    "/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/").build());
            defaults.put("system:public-info-viewer", new PolicyRuleBuilder().withVerbs("get").withNonResourceURLs(
                    "/healthz", "/livez", "/readyz", "/version", "/version/").build());
            for (var d : defaults.entrySet()) {
                if (crs.stream().noneMatch(r -> r.getMetadata().getName().equals(d.getKey()))) {
                    crs.add(new ClusterRoleBuilder().withNewMetadata().withName(d.getKey()).addToLabels(BOOTSTRAP, "rbac-defaults")
                            .endMetadata().withRules(d.getValue()).build());
                }
            }
            if (crs.stream().noneMatch(r -> r.getMetadata().getName().equals("system:basic-user"))) {
                crs.add(new ClusterRoleBuilder().withNewMetadata().withName("system:basic-user").addToLabels(BOOTSTRAP, "rbac-defaults")
                        .endMetadata().withRules(new PolicyRuleBuilder().withVerbs("create").withApiGroups("authorization.k8s.io")
                                .withResources("selfsubjectaccessreviews", "selfsubjectrulesreviews").build(),
                                new PolicyRuleBuilder().withVerbs("create").withApiGroups("authentication.k8s.io")
                                        .withResources("selfsubjectreviews").build()).build());
            }
            for (String name : List.of("system:discovery", "system:public-info-viewer", "system:basic-user")) {
                if (crbs.stream().noneMatch(b -> b.getMetadata().getName().equals(name))) {
                    var b = new ClusterRoleBindingBuilder().withNewMetadata().withName(name).addToLabels(BOOTSTRAP, "rbac-defaults")
                            .endMetadata().withNewRoleRef(RBAC_GROUP, "ClusterRole", name)
                            .addNewSubject().withApiGroup(RBAC_GROUP).withKind("Group").withName(AUTHENTICATED).endSubject();
                    if (name.equals("system:public-info-viewer")) {
                        b.addNewSubject().withApiGroup(RBAC_GROUP).withKind("Group").withName("system:unauthenticated").endSubject();
                    }
                    crbs.add(b.build());
                }
            }
        }

        public List<Role> roles() {
            return roles;
        }

        public List<ClusterRole> clusterRoles() {
            return clusterRoles;
        }

        public List<RoleBinding> roleBindings() {
            return roleBindings;
        }

        public List<ClusterRoleBinding> clusterRoleBindings() {
            return clusterRoleBindings;
        }

        /** The rules of a Role ({@code namespace} set) or ClusterRole, aggregated ones filled in. */
        public Optional<List<PolicyRule>> rulesOf(String kind, String namespace, String name) {
            if (kind.equals("Role")) {
                return Optional.ofNullable(roleByKey.get(namespace + "/" + name)).map(r -> list(r.getRules()));
            }
            if (kind.equals("ClusterRole")) {
                ClusterRole cr = clusterRoleByName.get(name);
                if (cr == null) return Optional.empty();
                return Optional.of(aggregated.getOrDefault(name, list(cr.getRules())));
            }
            return Optional.empty();
        }

        /** The rules a role reference grants in {@code namespace} ({@code GetRoleReferenceRules}), or a not-found text. */
        Optional<List<PolicyRule>> referenceRules(RoleRef ref, String namespace, List<String> errors) {
            Optional<List<PolicyRule>> rules = rulesOf(ref.getKind(), namespace, ref.getName());
            if (rules.isEmpty()) {
                // the authorizer's listers name the kind in the singular
                errors.add(ref.getKind().toLowerCase() + "." + RBAC_GROUP + " " + quote(ref.getName()) + " not found");
            }
            return rules;
        }

        /**
         * Visits the rules that apply to {@code user} in {@code namespace} (cluster bindings, then the namespace's
         * RoleBindings) until {@code visitor} returns true; missing roles are reported in {@code errors}.
         */
        boolean visitRules(UserInfo user, String namespace, java.util.function.Predicate<PolicyRule> visitor, List<String> errors) {
            for (ClusterRoleBinding b : clusterRoleBindings) {
                if (list(b.getSubjects()).stream().noneMatch(s -> appliesTo(user, s, ""))) continue;
                Optional<List<PolicyRule>> rules = referenceRules(b.getRoleRef(), "", errors);
                if (rules.isPresent() && rules.get().stream().anyMatch(visitor)) return true;
            }
            if (!namespace.isEmpty()) {
                for (RoleBinding b : roleBindings) {
                    if (!namespace.equals(b.getMetadata().getNamespace())) continue;
                    if (list(b.getSubjects()).stream().noneMatch(s -> appliesTo(user, s, namespace))) continue;
                    Optional<List<PolicyRule>> rules = referenceRules(b.getRoleRef(), namespace, errors);
                    if (rules.isPresent() && rules.get().stream().anyMatch(visitor)) return true;
                }
            }
            return false;
        }

        /** Every rule that applies to {@code user} in {@code namespace} ({@code RulesFor}). */
        public List<PolicyRule> rulesFor(UserInfo user, String namespace, List<String> errors) {
            List<PolicyRule> out = new ArrayList<>();
            visitRules(user, namespace, r -> {
                out.add(r);
                return false;
            }, errors);
            return out;
        }

        private static boolean appliesTo(UserInfo user, Subject s, String namespace) {
            return switch (s.getKind()) {
                case "User" -> user.name().equals(s.getName());
                case "Group" -> user.groups().contains(s.getName());
                case "ServiceAccount" -> {
                    String ns = s.getNamespace() == null || s.getNamespace().isEmpty() ? namespace : s.getNamespace();
                    yield !ns.isEmpty() && user.name().equals(SA_PREFIX + ns + ":" + s.getName());
                }
                default -> false;
            };
        }

        private static boolean selects(LabelSelector selector, Map<String, String> labels) {
            if (selector == null) return false;
            Map<String, String> match = Objects.requireNonNullElse(selector.getMatchLabels(), Map.of());
            List<LabelSelectorRequirement> exprs = list(selector.getMatchExpressions());
            if (match.isEmpty() && exprs.isEmpty()) return true; // an empty selector selects everything
            for (var e : match.entrySet()) if (!e.getValue().equals(labels.get(e.getKey()))) return false;
            for (LabelSelectorRequirement r : exprs) {
                String v = labels.get(r.getKey());
                boolean ok = switch (r.getOperator()) {
                    case "In" -> v != null && list(r.getValues()).contains(v);
                    case "NotIn" -> v == null || !list(r.getValues()).contains(v);
                    case "Exists" -> labels.containsKey(r.getKey());
                    case "DoesNotExist" -> !labels.containsKey(r.getKey());
                    default -> false;
                };
                if (!ok) return false;
            }
            return true;
        }

        // -------------------------------------------------------------- variations, to prove each permission is needed

        /** This policy with {@code verb} removed from every rule of one Role ({@code namespace} set) or ClusterRole. */
        public Policy withoutVerb(String kind, String namespace, String name, String verb) {
            return withRules(kind, namespace, name, rules -> rules.stream().map(r -> without(r, verb)).toList());
        }

        /** This policy with {@code verb} removed from rule number {@code ruleIndex} of one Role or ClusterRole. */
        public Policy withoutVerb(String kind, String namespace, String name, int ruleIndex, String verb) {
            return withRules(kind, namespace, name, rules -> {
                List<PolicyRule> copy = new ArrayList<>(rules);
                copy.set(ruleIndex, without(copy.get(ruleIndex), verb));
                return copy;
            });
        }

        /** This policy with one Role's or ClusterRole's rules replaced. */
        public Policy withRules(String kind, String namespace, String name, UnaryOperator<List<PolicyRule>> change) {
            List<Role> rs = new ArrayList<>(roles);
            List<ClusterRole> crs = new ArrayList<>(clusterRoles);
            boolean found = false;
            if (kind.equals("Role")) {
                for (int i = 0; i < rs.size(); i++) {
                    Role r = rs.get(i);
                    if (r.getMetadata().getName().equals(name) && Objects.equals(r.getMetadata().getNamespace(), namespace)) {
                        rs.set(i, new RoleBuilder(r).withRules(change.apply(list(r.getRules()))).build());
                        found = true;
                    }
                }
            } else {
                for (int i = 0; i < crs.size(); i++) {
                    ClusterRole r = crs.get(i);
                    if (r.getMetadata().getName().equals(name)) {
                        crs.set(i, new ClusterRoleBuilder(r).withRules(change.apply(list(r.getRules()))).build());
                        found = true;
                    }
                }
            }
            if (!found) throw new IllegalArgumentException(kind + " " + (namespace == null ? "" : namespace + "/") + name + " not in the policy");
            return new Policy(rs, crs, roleBindings, clusterRoleBindings);
        }

        private static PolicyRule without(PolicyRule r, String verb) {
            return new PolicyRuleBuilder(r).withVerbs(list(r.getVerbs()).stream().filter(v -> !v.equals(verb)).toList()).build();
        }
    }

    static <T> List<T> list(List<T> l) {
        return l == null ? List.of() : l;
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
