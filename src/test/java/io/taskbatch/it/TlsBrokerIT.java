package io.taskbatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.taskbatch.queue.amqp.BrokerAddress;
import io.taskbatch.testing.RabbitNode;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** amqps with a private CA: trusted through --broker-ca, refused without it. */
class TlsBrokerIT {

    @Test
    void amqpsWorksWithTheCaFileAndIsRefusedWithoutIt(@TempDir Path dir) throws Exception {
        Path ca = dir.resolve("ca.pem");
        Path key = dir.resolve("server.key");
        Path cert = dir.resolve("server.pem");
        openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=taskbatch test CA",
                "-keyout", dir.resolve("ca.key").toString(), "-out", ca.toString());
        openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", key.toString(),
                "-out", dir.resolve("server.csr").toString());
        Files.writeString(dir.resolve("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
        openssl(dir, "x509", "-req", "-in", dir.resolve("server.csr").toString(), "-CA", ca.toString(), "-CAkey",
                dir.resolve("ca.key").toString(), "-CAcreateserial", "-days", "2", "-extfile", dir.resolve("san.ext").toString(),
                "-out", cert.toString());
        int tlsPort;
        try (ServerSocket s = new ServerSocket(0)) {
            tlsPort = s.getLocalPort();
        }
        try (RabbitNode node = RabbitNode.builder()
                .config("listeners.ssl.default", "127.0.0.1:" + tlsPort)
                .config("ssl_options.cacertfile", ca.toString())
                .config("ssl_options.certfile", cert.toString())
                .config("ssl_options.keyfile", key.toString())
                .config("ssl_options.verify", "verify_none")
                .config("ssl_options.fail_if_no_peer_cert", "false")
                .start()) {
            String uri = "amqps://guest:guest@localhost:" + tlsPort + "/%2F";
            BrokerAddress trusted = BrokerAddress.resolve(uri, null, ca, Map.of());
            try (Connection c = trusted.connectionFactory().newConnection(); Channel ch = c.createChannel()) {
                ch.queueDeclare("tls-probe", false, false, true, Map.of());
                assertThat(ch.isOpen()).isTrue();
            }
            BrokerAddress untrusted = BrokerAddress.resolve(uri, null, null, Map.of());
            assertThatThrownBy(() -> untrusted.connectionFactory().newConnection().close())
                    .satisfies(e -> assertThat(BrokerAddress.describe(e)).as("refused for its certificate")
                            .containsAnyOf("PKIX", "certification path", "certificate").doesNotContain("guest:guest"));
        }
    }

    private static void openssl(Path dir, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("openssl.log").toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0)
                .as("openssl %s: %s", String.join(" ", args), Files.exists(dir.resolve("openssl.log"))
                        ? Files.readString(dir.resolve("openssl.log")) : "").isTrue();
    }
}
