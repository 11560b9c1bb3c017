//! Understanding one inbound message: decoding, classification, new text of replies.
