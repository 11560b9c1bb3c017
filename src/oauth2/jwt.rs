//! Google's service-account grant (RFC 7523): a JWT signed with the
//! account's RSA key (RS256), asking to act as one mailbox of the domain.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

/// The parts of a Google service account key file that matter here.
pub struct ServiceAccountKey {
    pub client_email: String,
    pub token_uri: String,
    key: RsaKeyPair,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServiceAccountKey({})", self.client_email)
    }
}

#[derive(serde::Deserialize)]
struct KeyFile {
    client_email: String,
    private_key: String,
    #[serde(default)]
    token_uri: String,
}

impl ServiceAccountKey {
    /// Reads the JSON key file Google Cloud's console gives out.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: KeyFile = serde_json::from_str(text)
            .map_err(|e| format!("not a service account key file: {e}"))?;
        let der = PrivatePkcs8KeyDer::from_pem_slice(file.private_key.as_bytes())
            .map_err(|_| "private_key is not a PEM PKCS#8 key".to_string())?;
        let key = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|e| format!("private_key is not a usable RSA key: {e}"))?;
        let token_uri = if file.token_uri.is_empty() {
            "https://oauth2.googleapis.com/token".to_string()
        } else {
            file.token_uri
        };
        Ok(Self {
            client_email: file.client_email,
            token_uri,
            key,
        })
    }

    /// The signed assertion: good for an hour from `now` (UNIX seconds).
    pub fn assertion(
        &self,
        audience: &str,
        subject: &str,
        scope: &str,
        now: i64,
    ) -> Result<String, String> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "iss": self.client_email,
            "sub": subject,
            "scope": scope,
            "aud": audience,
            "iat": now,
            "exp": now + 3600,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "signing the assertion failed".to_string())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    const KEY_FILE: &str = include_str!("../../tests/fixtures/oauth2/service-account.json");

    #[test]
    fn the_assertion_is_an_rs256_jwt_for_the_mailbox_signed_by_the_key() {
        let key = ServiceAccountKey::from_json(KEY_FILE).unwrap();
        assert_eq!(key.token_uri, "https://oauth2.googleapis.com/token");
        let jwt = key
            .assertion(
                &key.token_uri,
                "circle@example.org",
                "https://mail.google.com/",
                1_800_000_000,
            )
            .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims["iss"],
            "circle-relay@circle-relay-test.iam.gserviceaccount.com"
        );
        assert_eq!(claims["sub"], "circle@example.org");
        assert_eq!(claims["scope"], "https://mail.google.com/");
        assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
        assert_eq!(claims["exp"], 1_800_003_600);
        let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.key.public().as_ref());
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        public
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
        assert!(!format!("{key:?}").contains("PRIVATE"));
        assert!(
            ServiceAccountKey::from_json(r#"{"client_email":"x","private_key":"nope"}"#).is_err()
        );
    }
}
