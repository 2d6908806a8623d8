package io.taskbatch.cli;

import org.eclipse.microprofile.config.ConfigProvider;
import picocli.CommandLine.IVersionProvider;

/** The project version, as Quarkus records it at build time. */
public class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = ConfigProvider.getConfig().getOptionalValue("quarkus.application.version", String.class)
                .orElse("(development build)");
        return new String[] {"taskbatch " + v};
    }
}
