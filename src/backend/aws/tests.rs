//! The aws backend against mocked SDK responses (aws-smithy-mocks): the answers `s3thaw serve`
//! never gives (throttling, capacity errors, bodiless 403s, unreachable endpoints) and the
//! parsing of shapes it gives only one way.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use time::macros::datetime;

use super::*;

fn creds() -> Credentials {
    Credentials::new("AKIDEXAMPLE", "not-a-secret", None, None, "unit-test")
}

fn interceptor(rules: &[&Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, rule| i.with_rule(rule),
    )
}

/// Our retry settings, with backoff shortened so a test does not sleep for seconds.
fn fast_retries() -> RetryConfig {
    retry_config()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

fn s3(rules: &[&Rule], retry: RetryConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(creds())
            .http_client(create_mock_http_client())
            .interceptor(interceptor(rules))
            .retry_config(retry)
            .build(),
    )
}

fn control(rules: &[&Rule]) -> aws_sdk_s3control::Client {
    aws_sdk_s3control::Client::from_conf(
        aws_sdk_s3control::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(creds())
            .http_client(create_mock_http_client())
            .interceptor(interceptor(rules))
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

fn iam(rules: &[&Rule]) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(creds())
            .http_client(create_mock_http_client())
            .interceptor(interceptor(rules))
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

fn sts() -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(creds())
            .http_client(create_mock_http_client())
            .build(),
    )
}

fn backend(s3: aws_sdk_s3::Client) -> AwsBackend {
    AwsBackend::with_clients(s3, control(&[]), iam(&[]), sts(), "111122223333").unwrap()
}

fn s3_error(code: &str, message: &str) -> Option<String> {
    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>R</RequestId></Error>"
    ))
}

const DAYS_1: RestoreRequest = RestoreRequest {
    days: Some(1),
    tier: Tier::Expedited,
};

#[test]
fn restore_outcome_comes_from_the_status_line() {
    let rule = mock!(aws_sdk_s3::Client::restore_object)
        .sequence()
        .http_status(202, None)
        .http_status(200, None)
        .build();
    let aws = backend(s3(&[&rule], RetryConfig::disabled()));
    assert_eq!(
        aws.restore_object("b", "k", None, DAYS_1).unwrap(),
        RestoreOutcome::Accepted
    );
    assert_eq!(
        aws.restore_object("b", "k", None, DAYS_1).unwrap(),
        RestoreOutcome::AlreadyRestored
    );
}

#[test]
fn batched_restores_are_sent_once_so_the_pacer_sees_each_throttle() {
    // The client has our adaptive retries; restore_objects must still answer the first
    // SlowDown instead of retrying it (ops::restore::direct paces on it), while a single
    // restore_object keeps the SDK's retries.
    let rule = mock!(aws_sdk_s3::Client::restore_object)
        .sequence()
        .http_status(
            503,
            s3_error("SlowDown", "Please reduce your request rate."),
        )
        .http_status(202, None)
        .build();
    let aws = backend(s3(&[&rule], fast_retries()));
    let object = ObjectRef {
        bucket: "b".into(),
        key: "k".into(),
        version_id: None,
    };
    let answers = aws.restore_objects(&[(object.clone(), DAYS_1)], 4);
    let e = answers[0].clone().unwrap_err();
    assert!(e.is_throttle(), "{e:?}");
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(
        aws.restore_objects(&[(object, DAYS_1)], 4)[0]
            .clone()
            .unwrap(),
        RestoreOutcome::Accepted
    );
    assert_eq!(rule.num_calls(), 2);
}

#[test]
fn a_single_restore_keeps_the_sdk_retries() {
    let rule = mock!(aws_sdk_s3::Client::restore_object)
        .sequence()
        .http_status(
            503,
            s3_error("SlowDown", "Please reduce your request rate."),
        )
        .http_status(202, None)
        .build();
    let aws = backend(s3(&[&rule], fast_retries()));
    assert_eq!(
        aws.restore_object("b", "k", None, DAYS_1).unwrap(),
        RestoreOutcome::Accepted
    );
    assert_eq!(rule.num_calls(), 2);
}

#[test]
fn expedited_capacity_shortage_keeps_aws_code_status_and_object() {
    let rule = mock!(aws_sdk_s3::Client::restore_object)
        .sequence()
        .http_status(
            503,
            s3_error(
                "GlacierExpeditedRetrievalNotAvailable",
                "Glacier expedited retrievals are currently not available, please try again later",
            ),
        )
        .times(RETRIES.max_attempts as usize)
        .build();
    let aws = backend(s3(&[&rule], fast_retries()));
    let e = aws
        .restore_object("archive", "2019/a.log", Some("v1"), DAYS_1)
        .unwrap_err();
    assert_eq!(e.code, "GlacierExpeditedRetrievalNotAvailable");
    assert_eq!(e.status, Some(503));
    assert!(e.message.contains("currently not available"), "{e:?}");
    assert_eq!(
        (
            e.bucket.as_deref(),
            e.key.as_deref(),
            e.version_id.as_deref()
        ),
        (Some("archive"), Some("2019/a.log"), Some("v1"))
    );
}

#[test]
fn throttling_is_retried_until_it_passes() {
    let rule = mock!(aws_sdk_s3::Client::restore_object)
        .sequence()
        .http_status(
            503,
            s3_error("SlowDown", "Please reduce your request rate."),
        )
        .times(2)
        .http_status(202, None)
        .build();
    let aws = backend(s3(&[&rule], fast_retries()));
    assert_eq!(
        aws.restore_object("b", "k", None, DAYS_1).unwrap(),
        RestoreOutcome::Accepted
    );
    assert_eq!(
        rule.num_calls(),
        3,
        "two throttled tries, then the one that passed"
    );
}

#[test]
fn throttling_that_never_ends_surfaces_as_slow_down() {
    let rule = mock!(aws_sdk_s3::Client::put_object)
        .sequence()
        .http_status(
            503,
            s3_error("SlowDown", "Please reduce your request rate."),
        )
        .repeatedly()
        .build();
    let aws = backend(s3(&[&rule], fast_retries()));
    let e = aws
        .put_object(PutObject {
            bucket: "b".into(),
            key: "k".into(),
            body: b"x".to_vec(),
            ..PutObject::default()
        })
        .unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("SlowDown", Some(503)));
    assert_eq!(rule.num_calls(), RETRIES.max_attempts as usize);
}

#[test]
fn a_bodiless_403_on_head_is_access_denied() {
    let rule = mock!(aws_sdk_s3::Client::head_object)
        .sequence()
        .http_status(403, None)
        .build();
    let aws = backend(s3(&[&rule], RetryConfig::disabled()));
    let e = aws.head_object("b", "secret.txt", None).unwrap_err();
    assert_eq!(e.status, Some(403));
    assert!(
        e.code == "AccessDenied" || e.code == "Forbidden",
        "unexpected code {e:?}"
    );
    assert_eq!(e.key.as_deref(), Some("secret.txt"));
}

#[test]
fn head_404_names_the_missing_bucket_or_key_as_get_would() {
    let head = mock!(aws_sdk_s3::Client::head_object)
        .sequence()
        .http_status(404, None)
        .times(2)
        .build();
    let bucket = mock!(aws_sdk_s3::Client::head_bucket)
        .sequence()
        .http_status(200, None)
        .http_status(404, None)
        .build();
    let aws = backend(s3(&[&head, &bucket], RetryConfig::disabled()));
    let e = aws.head_object("b", "k", None).unwrap_err();
    assert_eq!(e, Error::no_such_key("b", "k"));
    let e = aws.head_object("b", "k", None).unwrap_err();
    assert_eq!(e, Error::no_such_bucket("b"));
}

#[test]
fn head_object_reads_restore_and_archive_headers() {
    let rule = mock!(aws_sdk_s3::Client::head_object).then_output(|| {
        aws_sdk_s3::operation::head_object::HeadObjectOutput::builder()
            .content_length(42)
            .e_tag("\"abc\"")
            .storage_class(aws_sdk_s3::types::StorageClass::IntelligentTiering)
            .archive_status(aws_sdk_s3::types::ArchiveStatus::DeepArchiveAccess)
            .restore("ongoing-request=\"false\", expiry-date=\"Fri, 19 Oct 2012 00:00:00 GMT\"")
            .last_modified(aws_smithy_types::DateTime::from_secs(1_350_000_000))
            .build()
    });
    let aws = backend(s3(&[&rule], RetryConfig::disabled()));
    let h = aws.head_object("b", "k", None).unwrap();
    assert_eq!(h.size, 42);
    assert_eq!(h.storage_class, StorageClass::IntelligentTiering);
    assert_eq!(h.archive_status, Some(ArchiveAccessTier::DeepArchiveAccess));
    assert_eq!(
        h.restore,
        Some(RestoreState {
            ongoing: false,
            expiry: Some(datetime!(2012-10-19 00:00 UTC))
        })
    );
    assert_eq!(h.last_modified.unix_timestamp(), 1_350_000_000);
}

#[test]
fn delete_objects_reports_each_object_in_request_order() {
    let rule = mock!(aws_sdk_s3::Client::delete_objects).then_output(|| {
        aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput::builder()
            .errors(
                aws_sdk_s3::types::Error::builder()
                    .key("locked.txt")
                    .code("AccessDenied")
                    .message("Access Denied")
                    .build(),
            )
            .deleted(
                aws_sdk_s3::types::DeletedObject::builder()
                    .key("a.txt")
                    .delete_marker(true)
                    .delete_marker_version_id("m1")
                    .build(),
            )
            .build()
    });
    let aws = backend(s3(&[&rule], RetryConfig::disabled()));
    let ids = [
        ObjectId {
            key: "a.txt".into(),
            version_id: None,
        },
        ObjectId {
            key: "locked.txt".into(),
            version_id: None,
        },
    ];
    let results = aws.delete_objects("b", &ids).unwrap();
    assert_eq!(
        results[0],
        Ok(Deleted {
            key: "a.txt".into(),
            version_id: Some("m1".into()),
            delete_marker: true
        })
    );
    let e = results[1].clone().unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.key.as_deref(), e.bucket.as_deref()),
        ("AccessDenied", Some("locked.txt"), Some("b"))
    );
}

#[test]
fn versions_and_delete_markers_come_back_in_s3_order() {
    use aws_sdk_s3::types::{DeleteMarkerEntry, ObjectVersion as V};
    let t = |s| aws_smithy_types::DateTime::from_secs(s);
    let rule = mock!(aws_sdk_s3::Client::list_object_versions).then_output(move || {
        aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput::builder()
            .versions(
                V::builder()
                    .key("a")
                    .version_id("v1")
                    .is_latest(false)
                    .last_modified(t(1))
                    .build(),
            )
            .versions(
                V::builder()
                    .key("b")
                    .version_id("null")
                    .is_latest(true)
                    .last_modified(t(1))
                    .build(),
            )
            .delete_markers(
                DeleteMarkerEntry::builder()
                    .key("a")
                    .version_id("m2")
                    .is_latest(true)
                    .last_modified(t(2))
                    .build(),
            )
            .is_truncated(true)
            .next_key_marker("b")
            .next_version_id_marker("null")
            .build()
    });
    let aws = backend(s3(&[&rule], RetryConfig::disabled()));
    let page = aws.list_object_versions("bk", None, None).unwrap();
    let order: Vec<(String, Option<String>, bool)> = page
        .items
        .iter()
        .map(|v| (v.key.clone(), v.version_id.clone(), v.is_delete_marker))
        .collect();
    assert_eq!(
        order,
        [
            ("a".into(), Some("m2".into()), true),
            ("a".into(), Some("v1".into()), false),
            ("b".into(), None, false),
        ]
    );
    assert_eq!(page.next.as_deref(), Some("b\0null"));
}

#[test]
fn s3_control_errors_name_the_job_and_keep_the_code() {
    let rule = mock!(aws_sdk_s3control::Client::update_job_priority)
        .sequence()
        .http_status(
            400,
            Some("<ErrorResponse><Error><Code>TooManyRequestsException</Code><Message>Rate exceeded</Message></Error><RequestId>R</RequestId></ErrorResponse>".into()),
        )
        .build();
    let aws = AwsBackend::with_clients(
        s3(&[], RetryConfig::disabled()),
        control(&[&rule]),
        iam(&[]),
        sts(),
        "111122223333",
    )
    .unwrap();
    let e = aws.update_job_priority("job-1", 5).unwrap_err();
    assert_eq!(
        (
            e.code.as_str(),
            e.status,
            e.job_id.as_deref(),
            e.bucket.as_deref()
        ),
        ("TooManyRequestsException", Some(400), Some("job-1"), None)
    );
    assert_eq!(e.message, "Rate exceeded");
}

#[test]
fn iam_errors_keep_the_query_protocol_code() {
    let rule = mock!(aws_sdk_iam::Client::get_role)
        .sequence()
        .http_status(
            400,
            Some("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>R</RequestId></ErrorResponse>".into()),
        )
        .build();
    let aws = AwsBackend::with_clients(
        s3(&[], RetryConfig::disabled()),
        control(&[]),
        iam(&[&rule]),
        sts(),
        "111122223333",
    )
    .unwrap();
    let e = aws.get_role("r").unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("Throttling", Some(400)));
    assert_eq!(e.bucket, None);
}

#[test]
fn an_unreachable_endpoint_is_service_unavailable_with_a_hint() {
    // Port 1 on loopback: nothing listens there, and nothing leaves the machine.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(creds())
            .endpoint_url("http://127.0.0.1:1")
            .force_path_style(true)
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let aws = backend(s3);
    let e = aws.list_buckets().unwrap_err();
    assert_eq!(e.code, "ServiceUnavailable");
    assert!(e.hint.is_some(), "{e:?}");
    assert!(!e.message.contains("not-a-secret"), "{e:?}");
}

#[test]
fn restore_headers_parse() {
    assert_eq!(
        parse_restore_header("ongoing-request=\"true\""),
        Some(RestoreState {
            ongoing: true,
            expiry: None
        })
    );
    assert_eq!(
        parse_restore_header(
            "ongoing-request=\"false\", expiry-date=\"Fri, 19 Oct 2012 00:00:00 GMT\""
        ),
        Some(RestoreState {
            ongoing: false,
            expiry: Some(datetime!(2012-10-19 00:00 UTC))
        })
    );
    assert_eq!(parse_restore_header("garbage"), None);
}

#[test]
fn profiles_are_read_as_the_aws_cli_reads_them() {
    let names = profiles_in(
        "[default]\nregion = eu-west-1\n[profile prod]\nsso_session = x\n[sso-session x]\n",
        "[default]\n[ci]\n",
    );
    assert_eq!(names, ["default", "prod", "ci"]);
}

#[test]
fn credential_chain_failures_are_named_as_the_aws_cli_names_them() {
    let imds = "dispatch failure: other: the credential provider was not enabled: failed to load IMDS session token";
    assert!(errors::is_credentials_failure(imds));
    assert!(!errors::is_credentials_failure(
        "dns error: failed to lookup address information"
    ));
    let e = errors::no_credentials(imds);
    assert_eq!(e.code, "NoCredentials");
    assert!(
        e.message.starts_with("Unable to locate credentials"),
        "{}",
        e.message
    );
    assert!(e.hint.unwrap().contains("aws configure"));
}

fn big_head() -> Rule {
    mock!(aws_sdk_s3::Client::head_object).then_output(|| {
        aws_sdk_s3::operation::head_object::HeadObjectOutput::builder()
            .content_length(20 * 1024 * 1024 + 1)
            .e_tag("\"source-etag\"")
            .content_type("text/plain")
            .metadata("owner", "ops")
            .build()
    })
}

fn copy_request() -> CopyObject {
    CopyObject {
        source: ObjectRef {
            bucket: "src".into(),
            key: "big file".into(),
            version_id: None,
        },
        bucket: "dst".into(),
        key: "kept".into(),
        storage_class: Some(StorageClass::StandardIa),
        ..CopyObject::default()
    }
}

#[test]
fn multipart_copies_send_each_range_pinned_to_the_source_etag_then_complete() {
    let head = big_head();
    let create = mock!(aws_sdk_s3::Client::create_multipart_upload)
        .match_requests(|r| {
            r.bucket() == Some("dst")
                && r.key() == Some("kept")
                && r.content_type() == Some("text/plain")
                && r.metadata()
                    .and_then(|m| m.get("owner"))
                    .map(String::as_str)
                    == Some("ops")
        })
        .then_output(|| {
            aws_sdk_s3::operation::create_multipart_upload::CreateMultipartUploadOutput::builder()
                .upload_id("u1")
                .build()
        });
    let mib = 1024 * 1024;
    let ranges = [
        format!("bytes=0-{}", 8 * mib - 1),
        format!("bytes={}-{}", 8 * mib, 16 * mib - 1),
        format!("bytes={}-{}", 16 * mib, 20 * mib),
    ];
    let part = mock!(aws_sdk_s3::Client::upload_part_copy)
        .match_requests(move |r| {
            r.upload_id() == Some("u1")
                && r.copy_source() == Some("src/big%20file")
                && r.copy_source_if_match() == Some("\"source-etag\"")
                && r.part_number()
                    .and_then(|n| ranges.get(n as usize - 1))
                    .map(String::as_str)
                    == r.copy_source_range()
        })
        .then_output(|| {
            aws_sdk_s3::operation::upload_part_copy::UploadPartCopyOutput::builder()
                .copy_part_result(
                    aws_sdk_s3::types::CopyPartResult::builder()
                        .e_tag("\"part\"")
                        .build(),
                )
                .build()
        });
    let complete = mock!(aws_sdk_s3::Client::complete_multipart_upload)
        .match_requests(|r| {
            r.upload_id() == Some("u1")
                && r.multipart_upload()
                    .map(|m| m.parts().iter().map(|p| p.part_number()).collect::<Vec<_>>())
                    == Some(vec![Some(1), Some(2), Some(3)])
        })
        .then_output(|| {
            aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput::builder()
                .e_tag("\"whole-3\"")
                .build()
        });
    let abort = mock!(aws_sdk_s3::Client::abort_multipart_upload).then_output(|| {
        aws_sdk_s3::operation::abort_multipart_upload::AbortMultipartUploadOutput::builder().build()
    });
    let aws = backend(s3(
        &[&head, &create, &part, &complete, &abort],
        RetryConfig::disabled(),
    ));
    let written = aws
        .copy_object_multipart(&copy_request(), 8 * mib as u64)
        .unwrap();
    assert_eq!(written.etag, "\"whole-3\"");
    assert_eq!(written.storage_class, StorageClass::StandardIa);
    assert_eq!(part.num_calls(), 3);
    assert_eq!(complete.num_calls(), 1);
    assert_eq!(abort.num_calls(), 0);
}

#[test]
fn a_failed_part_copy_aborts_the_upload_and_reports_aws_error() {
    let head = big_head();
    let create = mock!(aws_sdk_s3::Client::create_multipart_upload).then_output(|| {
        aws_sdk_s3::operation::create_multipart_upload::CreateMultipartUploadOutput::builder()
            .upload_id("u2")
            .build()
    });
    let part = mock!(aws_sdk_s3::Client::upload_part_copy)
        .sequence()
        .http_status(
            403,
            s3_error(
                "InvalidObjectState",
                "The operation is not valid for the object's storage class",
            ),
        )
        .times(3)
        .build();
    let complete = mock!(aws_sdk_s3::Client::complete_multipart_upload).then_output(|| {
        aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput::builder()
            .build()
    });
    let abort = mock!(aws_sdk_s3::Client::abort_multipart_upload)
        .match_requests(|r| r.upload_id() == Some("u2"))
        .then_output(|| {
            aws_sdk_s3::operation::abort_multipart_upload::AbortMultipartUploadOutput::builder()
                .build()
        });
    let aws = backend(s3(
        &[&head, &create, &part, &complete, &abort],
        RetryConfig::disabled(),
    ));
    let e = aws
        .copy_object_multipart(&copy_request(), 8 * 1024 * 1024)
        .unwrap_err();
    assert_eq!(e.code, "InvalidObjectState");
    assert_eq!(complete.num_calls(), 0);
    assert_eq!(abort.num_calls(), 1);
}
