// What a Java relying party does with a JPKI token through SunPKCS11
// (rp-java.sh, docs/java.md): load the provider from a configuration file,
// open the PKCS11 KeyStore with the PIN, take the one private key it holds,
// sign once, verify with the key's certificate in the JDK's own RSA code.
//
//   java KzJavaSign CONFIG OUTDIR      (the PIN in the environment, KZ_PIN)
//
// Prints what it found (aliases, key entry, certificate subject) and writes
// OUTDIR/data.bin, OUTDIR/sig.bin and OUTDIR/cert.der so that the test can
// check the signature with OpenSSL too. Any failure prints "ERROR: " and the
// exception (PKCS11Exception names the CKR_ value) and exits 1.
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.Collections;

public class KzJavaSign {
	public static void main(String[] args) {
		try {
			run(args[0], Path.of(args[1]));
		} catch (Exception e) {
			System.out.println("ERROR: " + e);
			for (Throwable c = e.getCause(); c != null; c = c.getCause())
				System.out.println("ERROR cause: " + c);
			System.exit(1);
		}
	}

	static void run(String config, Path out) throws Exception {
		Provider p = Security.getProvider("SunPKCS11").configure(config);
		System.out.println("provider: " + p.getName());
		String pin = System.getenv("KZ_PIN");
		KeyStore ks = KeyStore.getInstance("PKCS11", p);
		ks.load(null, pin == null ? null : pin.toCharArray());
		String keyAlias = null;
		for (String a : Collections.list(ks.aliases())) {
			boolean key = ks.isKeyEntry(a);
			System.out.println("alias: " + a + (key ? " (key)" : " (certificate)"));
			if (key)
				keyAlias = a;
		}
		if (keyAlias == null)
			throw new IllegalStateException("no private key in the key store");
		PrivateKey key = (PrivateKey) ks.getKey(keyAlias, null);
		X509Certificate cert = (X509Certificate) ks.getCertificate(keyAlias);
		System.out.println("subject: " + cert.getSubjectX500Principal().getName());

		byte[] data = new byte[1000];
		new SecureRandom().nextBytes(data);
		Signature signer = Signature.getInstance("SHA256withRSA", p);
		signer.initSign(key);
		signer.update(data);
		byte[] sig = signer.sign();
		System.out.println("signature bytes: " + sig.length);

		// Verified by the JDK's own provider, not the token's.
		Signature verifier = Signature.getInstance("SHA256withRSA", "SunRsaSign");
		verifier.initVerify(cert.getPublicKey());
		verifier.update(data);
		System.out.println("verified: " + verifier.verify(sig));

		Files.write(out.resolve("data.bin"), data);
		Files.write(out.resolve("sig.bin"), sig);
		Files.write(out.resolve("cert.der"), cert.getEncoded());
	}
}
