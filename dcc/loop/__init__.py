"""The closed loop as a whole: the audit that finds every broken link (闭环检查)."""
