package io.taskbatch.queue.amqp;

import com.rabbitmq.client.Address;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Where the broker is: an AMQP URI ({@code amqp://} or {@code amqps://}) and, for amqps with a
 * private CA, the CA's PEM file. The URI's password never appears in logs or errors: use
 * {@link #toString()}, which masks it.
 *
 * <p>A cluster is one URI with its nodes separated by commas, {@code amqp://user:pw@rabbit-0:5672,rabbit-1,rabbit-2/vhost}
 * (a node without a port uses the scheme's): a connection goes to the first node that answers, and one that loses
 * its node recovers to another (the client shuffles the list), so a batch outlives the death of a node.
 */
public final class BrokerAddress {
    public static final String ENV_URI = "TASKBATCH_BROKER_URI";
    public static final String ENV_URI_FILE = "TASKBATCH_BROKER_URI_FILE";
    public static final String ENV_CA_FILE = "TASKBATCH_BROKER_CA_FILE";

    private final String uri;
    private final Path caFile;
    // the nodes of the URI, and the URI with only the first of them (what ConnectionFactory.setUri understands)
    private final List<Address> nodes;
    private final String firstNodeUri;

    private BrokerAddress(String uri, Path caFile) {
        this.uri = uri;
        this.caFile = caFile;
        int start = uri.indexOf("://");
        int end = start < 0 ? -1 : indexOfAny(uri, "/?#", start + 3);
        String authority = start < 0 ? "" : uri.substring(start + 3, end < 0 ? uri.length() : end);
        int at = authority.lastIndexOf('@');
        String hosts = authority.substring(at + 1);
        if (start < 0 || hosts.isEmpty() || !hosts.contains(",")) {
            this.nodes = null;
            this.firstNodeUri = uri;
        } else {
            this.nodes = List.of(Address.parseAddresses(hosts));
            String first = hosts.substring(0, hosts.indexOf(','));
            this.firstNodeUri = uri.substring(0, start + 3) + authority.substring(0, at + 1) + first
                    + (end < 0 ? "" : uri.substring(end));
        }
    }

    private static int indexOfAny(String s, String chars, int from) {
        for (int i = from; i < s.length(); i++) if (chars.indexOf(s.charAt(i)) >= 0) return i;
        return -1;
    }

    /** The broker's nodes as the URI lists them (one for a single node). */
    public List<Address> nodes() {
        if (nodes != null) return nodes;
        ConnectionFactory factory = connectionFactory();
        return List.of(new Address(factory.getHost(), factory.getPort()));
    }

    /**
     * A connection to the first node of the URI that answers, recovering to any of them: use this, not
     * {@code connectionFactory().newConnection}, which knows only the first node.
     */
    public Connection newConnection(String name) throws IOException, TimeoutException {
        return connectionFactory().newConnection(nodes(), name);
    }

    /**
     * The broker from the first of: {@code uri} (a command-line option), {@code uriFile}, the
     * environment's {@value #ENV_URI}, the file named by {@value #ENV_URI_FILE} (a mounted Secret).
     *
     * @throws IllegalArgumentException naming what to set when none is given or the URI is invalid
     */
    public static BrokerAddress resolve(String uri, Path uriFile, Path caFile, Map<String, String> env) {
        String chosen = uri;
        if (chosen == null && uriFile != null) chosen = read(uriFile);
        if (chosen == null) chosen = env.get(ENV_URI);
        if (chosen == null && env.get(ENV_URI_FILE) != null) chosen = read(Path.of(env.get(ENV_URI_FILE)));
        if (chosen == null || chosen.isBlank()) {
            throw new IllegalArgumentException("no broker given: pass --broker amqp://USER:PASSWORD@HOST:5672/VHOST, "
                    + "or set " + ENV_URI + " or " + ENV_URI_FILE);
        }
        Path ca = caFile != null ? caFile : env.get(ENV_CA_FILE) == null ? null : Path.of(env.get(ENV_CA_FILE));
        BrokerAddress address = new BrokerAddress(chosen.strip(), ca);
        address.validate();
        return address;
    }

    public static BrokerAddress of(String uri) {
        BrokerAddress address = new BrokerAddress(uri, null);
        address.validate();
        return address;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the broker URI from " + file + ": " + e.getMessage());
        }
    }

    private void validate() {
        try {
            if (nodes != null) {
                for (Address node : nodes) {
                    if (node.getHost() == null || node.getHost().isBlank()) {
                        throw new IllegalArgumentException("the broker URI " + this + " names an empty node: separate nodes "
                                + "with single commas, e.g. amqp://user:password@rabbit-0:5672,rabbit-1:5672/vhost");
                    }
                }
            }
            URI parsed = new URI(firstNodeUri);
            if (!"amqp".equals(parsed.getScheme()) && !"amqps".equals(parsed.getScheme())) {
                throw new IllegalArgumentException("the broker URI " + this + " must start with amqp:// or amqps://");
            }
            if (parsed.getHost() == null) throw new IllegalArgumentException("the broker URI " + this + " has no host");
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("the broker URI " + this + " is not a valid URI");
        }
        if (caFile != null && !Files.isReadable(caFile)) {
            throw new IllegalArgumentException("the broker CA file " + caFile + " cannot be read");
        }
    }

    /** A connection factory with automatic recovery, heartbeats and, for amqps, TLS. */
    public ConnectionFactory connectionFactory() {
        ConnectionFactory factory = new ConnectionFactory();
        try {
            factory.setUri(firstNodeUri);
            if (uri.startsWith("amqps:")) {
                if (caFile != null) {
                    factory.useSslProtocol(sslContext(caFile));
                    factory.enableHostnameVerification();
                } else {
                    factory.useSslProtocol(SSLContext.getDefault());
                    factory.enableHostnameVerification();
                }
            }
        } catch (GeneralSecurityException | URISyntaxException | IOException e) {
            throw new IllegalArgumentException("cannot use the broker " + this + ": " + e.getMessage());
        }
        factory.setAutomaticRecoveryEnabled(true);
        factory.setTopologyRecoveryEnabled(true);
        factory.setNetworkRecoveryInterval(1000);
        factory.setRequestedHeartbeat(15);
        factory.setConnectionTimeout(10_000);
        return factory;
    }

    private static SSLContext sslContext(Path caFile) throws GeneralSecurityException, IOException {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(caFile)) {
            int i = 0;
            for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trust.setCertificateEntry("ca-" + i++, cert);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
    }

    /** The full URI, password included: only for handing to our own child processes' environment. */
    public String uriForChildren() {
        return uri;
    }

    /** What went wrong talking to the broker, in one line: the broker's own reply when it gave one. */
    public static String describe(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof com.rabbitmq.client.ShutdownSignalException s && s.getReason() != null) {
                if (s.getReason() instanceof com.rabbitmq.client.AMQP.Channel.Close c) return c.getReplyText();
                if (s.getReason() instanceof com.rabbitmq.client.AMQP.Connection.Close c) return c.getReplyText();
            }
            if (t.getMessage() != null && t.getCause() == null) return mask(t.getMessage());
        }
        return e.getClass().getSimpleName();
    }

    /** The URI with its password masked. */
    @Override
    public String toString() {
        return mask(uri);
    }

    static String mask(String uri) {
        return uri.replaceAll("([A-Za-z][A-Za-z0-9+.-]*://[^:/@]*):[^@/]*@", "$1:***@");
    }
}
