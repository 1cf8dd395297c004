package dev.tokenvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A database password written into a JDBC URL never reaches the output, in any form the driver reads, even where
 * the driver's own message echoes it; and the URL form is warned about. No server is needed: nothing listens on
 * port 1, and the bad URLs fail in the driver's parser.
 */
class ImportJdbcPasswordTest {
    static final String SECRET = "hunter2pw";

    @TempDir
    Path dir;
    CliHarness cli;

    @BeforeEach
    void setUp() {
        cli = new CliHarness(dir).initStore();
    }

    @Test
    void everyFormIsMaskedInEveryMessage() {
        List<String> urls = List.of(
                "jdbc:mariadb://sdk:" + SECRET + "@127.0.0.1:1/zohooauth",
                "jdbc:mariadb://address=(host=127.0.0.1)(port=1)(user=sdk)(password=" + SECRET + ")/zohooauth",
                "jdbc:mariadb://127.0.0.1:1/zohooauth?password=" + SECRET,
                "jdbc:mariadb://127.0.0.1:1/zohooauth?user=sdk&PassWord=" + SECRET + "&connectTimeout=2000",
                "jdbc:mysql://127.0.0.1:1/zohooauth;password=" + SECRET,
                "jdbc:mariadb://127.0.0.1:1/zohooauth?trustStorePassword=" + SECRET);
        for (String url : urls) {
            CliHarness.Run run = cli.store("import", "--from", "jdbc", url);
            assertTrue(run.code() == ExitCode.IO || run.code() == ExitCode.USAGE, url + ": " + run.all());
            assertFalse(run.all().contains(SECRET), url + " printed the password:\n" + run.all());
            assertTrue(run.err().contains("warning: the JDBC URL holds a password") && run.err()
                    .contains("--password-file"), run.err());
            assertTrue(run.all().contains("***"), run.all());
        }
        CliHarness.Run json = cli.store("import", "--json", "--from", "jdbc", urls.get(0));
        assertFalse(json.all().contains(SECRET), json.all());
    }

    @Test
    void aUrlTheDriverCannotParseIsAUsageErrorWithoutInternals() {
        CliHarness.Run run = cli.store("import", "--from", "jdbc", "jdbc:mariadb://[bad/x").expect(2);
        assertTrue(run.err().contains("cannot parse the JDBC URL"), run.err());
        assertFalse(run.err().contains("Exception"), run.err());
        assertFalse(run.err().contains("unexpected failure"), run.err());
    }

    @Test
    void aUrlWithoutPasswordGivesNoWarning() {
        CliHarness.Run run = cli.store("import", "--from", "jdbc", "jdbc:mariadb://127.0.0.1:1/zohooauth").expect(6);
        assertFalse(run.err().contains("warning"), run.err());
    }

    @Test
    void scrubMasksKeysUserInfoAndTheLiteralPassword() {
        JdbcPasswords p = new JdbcPasswords("jdbc:mariadb://u:p%40ss@h/db?pwd=two", "fromfile");
        assertEquals("jdbc:mariadb://u:***@h/db?pwd=***", p.scrub("jdbc:mariadb://u:p%40ss@h/db?pwd=two"));
        assertEquals("bad port : *** and *** and *** and ***", p.scrub("bad port : p%40ss and p@ss and two and "
                + "fromfile"));
        assertTrue(JdbcPasswords.inUrl("jdbc:mariadb://h/db?Password=x"));
        assertEquals("p/w@d", JdbcPasswords.userInfoPassword("jdbc:mariadb://u:p/w@d@h:3306/db"));
        assertFalse(JdbcPasswords.inUrl("jdbc:mariadb://h:3306/db?user=a@example.com"));
        assertFalse(JdbcPasswords.inUrl("jdbc:mariadb://h/db?user=x"));
    }
}
